// "Download my data" as a zip made while it downloads: messages.json, index.html and a page
// per conversation (html.ts), and the files the user may read (their own uploads not sent
// yet, and those of every message they can read: readable.ts). yazl writes one entry after
// the other through stream pipes, so each source is read only as fast as the download takes
// it; an entry's source is made only when its turn comes (addReadStreamLazy), and the next
// page of files is asked for only when the last went out. What stays in memory is one page
// of messages or one chunk of a file, and yazl's small record per entry (the zip's directory
// at the end needs them). tests/features/export-zip.test.ts holds yazl to that promise.
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';
import type { AppContext } from '../../core/context.js';
import { findUserById } from '../accounts/db.js';
import * as db from './db.js';
import { conversationHtml, indexHtml } from './html.js';
import { conversationPage, sentFilePath } from './names.js';
import { exportJson, fileEntry } from './service.js';

const FILES_PAGE = 100;
/** What a source may hold ahead of the zip: one piece past this, then it waits. */
const SOURCE_BUFFER = 64 * 1024;

type Source = () => AsyncIterable<string | Buffer> | Iterable<string>;

/** Writes the user's export to `out` as a zip; rejects if the download closed or a read failed. */
export async function writeExportZip(
  ctx: AppContext,
  userId: number,
  out: Writable,
): Promise<void> {
  const user = await findUserById(ctx.db, userId);
  if (!user) throw new Error('export: no such user');
  const conversations = await db.listConversations(ctx.db, userId);
  const zip = new yazl.ZipFile();
  let current: Readable | undefined;
  const sent = pipeline(zip.outputStream, out);
  // The download closing (or failing) ends whatever entry is being read.
  const stopped = sent.then(
    () => new Promise<never>(() => undefined),
    (err: unknown) => {
      current?.destroy();
      throw err;
    },
  );
  stopped.catch(() => undefined); // seen by whichever add() waits on it

  /** Adds one entry and waits until its last byte went into the zip's pipes. */
  const add = (path: string, source: Source, compress: boolean) =>
    Promise.race([
      stopped,
      new Promise<void>((resolve, reject) => {
        zip.addReadStreamLazy(path, { compress }, (give) => {
          current = Readable.from(source(), { objectMode: false, highWaterMark: SOURCE_BUFFER });
          current.once('end', resolve).once('error', reject);
          give(null, current);
        });
      }),
    ]);

  await add('messages.json', () => exportJson(ctx, userId), true);
  await add('index.html', () => [indexHtml(user.displayName, conversations)], true);
  for (const c of conversations)
    await add(conversationPage(c.id), () => conversationHtml(ctx, userId, c), true);
  // Files as they are: pictures and most files are compressed already.
  for (const f of await db.listUnsentFiles(ctx.db, userId))
    await add(fileEntry(f, 0).path, () => ctx.files.read(f.id, 'original'), false);
  for (const c of conversations) {
    let last: db.ExportFile | null = null;
    let n = 0;
    for (;;) {
      const page = await db.listReadableFiles(ctx.db, userId, c.id, last, FILES_PAGE);
      for (const f of page) {
        n = last?.messageId === f.messageId ? n + 1 : 0;
        last = f;
        await add(
          sentFilePath(f.messageId!, n, f.name),
          () => ctx.files.read(f.id, 'original'),
          false,
        );
      }
      if (page.length < FILES_PAGE) break;
    }
  }
  zip.end();
  await sent;
}
