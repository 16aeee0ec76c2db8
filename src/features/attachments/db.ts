import { withTransaction, type Db, type Pool } from '../../core/db/pool.js';
import type { AttachmentDto } from '../../shared/protocol.js';

/** A pending upload older than this is swept; a send can no longer link it. */
export const PENDING_LIFETIME = '1 day';
/** An upload still 'uploading' after this was cut off by a crash or a lost connection. */
export const UPLOADING_LIFETIME = '1 hour';

export async function createUpload(
  db: Db,
  a: { conversationId: number; uploaderId: number; name: string },
): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO attachments (conversation_id, uploader_id, name) VALUES ($1, $2, $3) RETURNING id`,
    [a.conversationId, a.uploaderId, a.name],
  );
  return rows[0]!.id;
}

/**
 * Makes a stored upload 'ready' if it fits the uploader's quota, in one transaction under the
 * uploader's row lock: two uploads of one person finishing at once are counted one after the
 * other, so together they cannot pass the quota (each read the usage before the other wrote).
 * FOR NO KEY UPDATE, not FOR UPDATE: the foreign keys' checks (FOR KEY SHARE) on the users row
 * are not held up. Returns false, changing nothing, when the file does not fit.
 */
export async function finishUpload(
  pool: Pool,
  id: string,
  f: {
    uploaderId: number;
    quotaBytes: number;
    type: string;
    size: number;
    width?: number;
    height?: number;
    thumbWidth?: number;
    thumbHeight?: number;
  },
): Promise<boolean> {
  return withTransaction(pool, async (tx) => {
    await tx.query('SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE', [f.uploaderId]);
    const { rowCount } = await tx.query(
      `UPDATE attachments SET state = 'ready', content_type = $2, size = $3, width = $4,
         height = $5, thumb_width = $6, thumb_height = $7
       WHERE id = $1 AND $3 + (SELECT coalesce(sum(size), 0) FROM attachments
                               WHERE uploader_id = $8 AND id <> $1) <= $9`,
      [
        id,
        f.type,
        f.size,
        f.width ?? null,
        f.height ?? null,
        f.thumbWidth ?? null,
        f.thumbHeight ?? null,
        f.uploaderId,
        f.quotaBytes,
      ],
    );
    return rowCount === 1;
  });
}

export async function deleteAttachment(db: Db, id: string): Promise<void> {
  await db.query('DELETE FROM attachments WHERE id = $1', [id]);
}

/** The uploader's own pending upload, removed (a file taken out of the composer). */
export async function deletePending(db: Db, id: string, uploaderId: number): Promise<boolean> {
  const { rowCount } = await db.query(
    'DELETE FROM attachments WHERE id = $1 AND uploader_id = $2 AND message_id IS NULL',
    [id, uploaderId],
  );
  return rowCount === 1;
}

/** Bytes of everything the user has stored, sent or pending: what the quota counts. */
export async function storedBytes(db: Db, uploaderId: number): Promise<number> {
  const { rows } = await db.query<{ bytes: string }>(
    'SELECT coalesce(sum(size), 0)::bigint AS bytes FROM attachments WHERE uploader_id = $1',
    [uploaderId],
  );
  return Number(rows[0]!.bytes);
}

/**
 * Links the sender's uploads to their new message, inside the message's transaction. Only
 * uploads that are the sender's own, for this conversation, stored whole, not linked yet and
 * not expired are taken; the caller compares the count with what was asked for.
 */
export async function linkToMessage(
  db: Db,
  m: { messageId: number; conversationId: number; senderId: number; ids: string[] },
): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE attachments a SET message_id = $1, position = x.n - 1
     FROM unnest($4::uuid[]) WITH ORDINALITY AS x (id, n)
     WHERE a.id = x.id AND a.conversation_id = $2 AND a.uploader_id = $3
       AND a.message_id IS NULL AND a.state = 'ready'
       AND a.created_at > now() - interval '${PENDING_LIFETIME}'`,
    [m.messageId, m.conversationId, m.senderId, m.ids],
  );
  return rowCount ?? 0;
}

interface AttachmentRow {
  id: string;
  messageId: number;
  name: string;
  type: string;
  size: number;
  width: number | null;
  height: number | null;
  thumbWidth: number | null;
  thumbHeight: number | null;
}

const COLUMNS = `a.id, a.message_id AS "messageId", a.name, a.content_type AS type, a.size,
  a.width, a.height, a.thumb_width AS "thumbWidth", a.thumb_height AS "thumbHeight"`;

export function toAttachmentDto(r: Omit<AttachmentRow, 'messageId'>): AttachmentDto {
  const dto: AttachmentDto = { id: r.id, name: r.name, type: r.type, size: Number(r.size) };
  if (r.width && r.height) {
    dto.width = r.width;
    dto.height = r.height;
    dto.thumbWidth = r.thumbWidth ?? r.width;
    dto.thumbHeight = r.thumbHeight ?? r.height;
  }
  return dto;
}

/** The attachments of these messages, in attaching order, by message id: one query per page. */
export async function listForMessages(
  db: Db,
  messageIds: number[],
): Promise<Map<number, AttachmentDto[]>> {
  const byMessage = new Map<number, AttachmentDto[]>();
  if (!messageIds.length) return byMessage;
  const { rows } = await db.query<AttachmentRow>({
    name: 'attachments-of-messages', // every page of history: prepared once per connection
    text: `SELECT ${COLUMNS} FROM attachments a
     WHERE a.message_id = ANY ($1::bigint[]) ORDER BY a.message_id, a.position`,
    values: [messageIds],
  });
  for (const r of rows) {
    const list = byMessage.get(r.messageId) ?? [];
    list.push(toAttachmentDto(r));
    byMessage.set(r.messageId, list);
  }
  return byMessage;
}

export interface Readable {
  id: string;
  name: string;
  type: string;
  size: number;
  hasThumb: boolean;
}

/**
 * The attachment if this user may read it, else nothing (the same answer as a missing id).
 * Sent: by the member history rule (migrations/20261128231500_member_history.sql) on its
 * message, so a former member keeps what they saw and nobody else gets anything. Pending:
 * only its uploader.
 */
export async function findReadable(
  db: Db,
  id: string,
  userId: number,
): Promise<Readable | undefined> {
  const { rows } = await db.query<Readable>(
    `SELECT a.id, a.name, a.content_type AS type, a.size, a.thumb_width IS NOT NULL AS "hasThumb"
     FROM attachments a
     WHERE a.id = $1 AND a.state = 'ready' AND (
       (a.message_id IS NULL AND a.uploader_id = $2)
       OR EXISTS (
         SELECT 1 FROM messages m
         JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
         WHERE m.id = a.message_id AND m.deleted_at IS NULL AND cm.state <> 'declined'
           AND m.id > cm.history_from AND (cm.history_to IS NULL OR m.id <= cm.history_to)))`,
    [id, userId],
  );
  const r = rows[0];
  return r && { ...r, size: Number(r.size) };
}

/**
 * Removes uploads never sent (older than a day) and uploads cut off midway (older than an
 * hour, still 'uploading'); their chunks go with them. Returns how many.
 */
export async function sweep(db: Db): Promise<number> {
  const { rowCount } = await db.query(
    `DELETE FROM attachments WHERE message_id IS NULL AND (
       created_at < now() - interval '${PENDING_LIFETIME}'
       OR (state = 'uploading' AND created_at < now() - interval '${UPLOADING_LIFETIME}'))`,
  );
  return rowCount ?? 0;
}

/** A message's files, removed with it (also done by the schema: see the attachments migration). */
export async function deleteForMessages(db: Db, messageIds: number[]): Promise<void> {
  await db.query('DELETE FROM attachments WHERE message_id = ANY ($1::bigint[])', [messageIds]);
}
