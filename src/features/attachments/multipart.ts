// multipart/form-data, streamed by busboy with limits on everything it counts: files,
// bytes per file, fields, their sizes, parts. Files are handed over one at a time, as they
// arrive, so none is ever whole in memory.
import type { Request } from 'express';
import busboy from 'busboy';
import { AppError } from '../../core/errors.js';
import type { IncomingFile } from './service.js';

export interface MultipartLimits {
  /** The form field that carries files ("files" for the composer, "file" for the script). */
  fileField: string;
  maxFiles: number;
  /** Per file: busboy stops counting there and marks the file truncated. */
  maxBytes: number;
}

export interface Parsed {
  fields: Record<string, string>;
}

/** The most a whole request may carry before it is cut off: its files and a little more. */
export function requestCap(limits: MultipartLimits): number {
  return limits.maxFiles * limits.maxBytes + 256 * 1024;
}

/**
 * Parses the request; for each file in the file field calls `onFile` (after `beforeFile`,
 * which sees the fields read so far and may refuse: the form token comes before the files).
 * Resolves when the request ended and every file was handled; rejects with the first error,
 * after which further files are read and dropped. A request cut off midway rejects too.
 */
export function parseMultipart(
  req: Request,
  limits: MultipartLimits,
  handlers: {
    beforeFile?: (fields: Record<string, string>) => void;
    onFile: (file: IncomingFile, index: number) => Promise<void>;
  },
  /** Filled as fields arrive, so a caller still has them when a file was refused. */
  fields: Record<string, string> = Object.create(null) as Record<string, string>,
): Promise<Parsed> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({
        headers: req.headers,
        defParamCharset: 'utf8', // file names as browsers send them
        limits: {
          files: limits.maxFiles,
          // busboy marks a file truncated when it *reaches* fileSize (it cannot know whether
          // more follows), so a file of exactly the limit would be refused: one byte more here,
          // and the service refuses anything past maxBytes (tests/features/attachments.test.ts).
          fileSize: limits.maxBytes + 1,
          fields: 20,
          fieldSize: 64 * 1024,
          parts: limits.maxFiles + 20,
          headerPairs: 20,
        },
      });
    } catch {
      reject(new AppError(400, 'The form could not be read.'));
      return;
    }
    const jobs: Promise<void>[] = [];
    let failure: unknown;
    let current: NodeJS.ReadableStream | undefined;
    let index = 0;
    let received = 0;
    const cap = requestCap(limits);

    const fail = (err: unknown) => {
      failure ??= err;
    };

    bb.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new AppError(413, 'A field of the form is too long.'));
      else if (name !== '__proto__') fields[name] = value;
    });
    bb.on('file', (name, stream, info) => {
      // An empty file input still sends a part, with no name and no bytes.
      if (failure || name !== limits.fileField || !info.filename) {
        stream.resume();
        return;
      }
      try {
        handlers.beforeFile?.(fields);
      } catch (err) {
        fail(err);
        stream.resume();
        return;
      }
      current = stream;
      // Its errors reach the reader through the iterator; once read, nobody listens: no crash.
      stream.on('error', () => undefined);
      const file: IncomingFile = {
        name: info.filename,
        claimedType: info.mimeType,
        stream: stream,
      };
      jobs.push(handlers.onFile(file, index++).catch(fail));
    });
    bb.on('filesLimit', () =>
      fail(new AppError(413, `At most ${limits.maxFiles} files go with one message.`, 'too_large')),
    );
    bb.on('fieldsLimit', () => fail(new AppError(413, 'The form has too many fields.')));
    bb.on('partsLimit', () => fail(new AppError(413, 'The form has too many parts.')));
    bb.on('error', (err) => {
      fail(new AppError(400, 'The form could not be read.'));
      current?.emit('error', err);
      settle();
    });
    bb.on('close', () => settle());

    let settled = false;
    function settle() {
      if (settled) return;
      settled = true;
      void Promise.all(jobs).then(() => (failure ? reject(failure as Error) : resolve({ fields })));
    }

    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received > cap) {
        // Past every limit: stop reading rather than drain an endless body.
        fail(new AppError(413, 'That was too large to send.', 'too_large'));
        req.destroy();
      }
    });
    // Cut off midway (the sender cancelled, the connection dropped): the file being read ends
    // with an error, so its partial bytes are removed, and nothing else waits for more.
    req.on('close', () => {
      if (req.complete) return;
      fail(new AppError(400, 'The upload was cancelled.'));
      const err = new Error('upload cut off');
      const reading = current as unknown as
        { readableEnded: boolean; destroy: (e: Error) => void } | undefined;
      if (reading && !reading.readableEnded) reading.destroy(err);
      settle();
    });
    req.pipe(bb);
  });
}
