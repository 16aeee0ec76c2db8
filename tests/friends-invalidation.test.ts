// The member cache holds each member's answer and the blocks among members, so every
// instance must hear when those change: a block, an unblock or a changed answer
// NOTIFYs every conversation the pair shares, at commit, whoever wrote it.
import pg from 'pg';
import { expect, it } from 'vitest';
import { createTestDatabase } from './support/db.js';
import { until } from './support/sockets.js';

it('a block, an unblock and a changed answer each tell every instance which conversations to forget', async () => {
  const db = await createTestDatabase();
  const sql = new pg.Client({ connectionString: db.url });
  const listener = new pg.Client({ connectionString: db.url });
  await Promise.all([sql.connect(), listener.connect()]);
  try {
    const heard: string[] = [];
    listener.on('notification', (n) => heard.push(n.payload ?? ''));
    await listener.query('LISTEN conversation_members_changed');
    const { rows: users } = await sql.query<{ id: string }>(
      `INSERT INTO users (email, display_name, password_hash)
       VALUES ('a@example.com', 'A', 'x'), ('b@example.com', 'B', 'x'), ('c@example.com', 'C', 'x')
       RETURNING id`,
    );
    const [a, b, c] = users.map((u) => u.id);
    const { rows: convs } = await sql.query<{ id: string }>(
      `INSERT INTO conversations (kind, title) VALUES ('group', 'ab'), ('group', 'ac') RETURNING id`,
    );
    const [ab, ac] = convs.map((r) => r.id);
    await sql.query(
      'INSERT INTO conversation_members (conversation_id, user_id) VALUES ($1, $2), ($1, $3), ($4, $2), ($4, $5)',
      [ab, a, b, ac, c],
    );
    // One per conversation: PostgreSQL folds equal notifications of one transaction.
    await until('the members’ own notifications', () => heard.length === 2);
    heard.length = 0;

    await sql.query('INSERT INTO blocks (blocker_id, blocked_id) VALUES ($1, $2)', [a, b]);
    await until('the block to be heard', () => heard.length > 0);
    await sql.query('DELETE FROM blocks WHERE blocker_id = $1', [a]);
    await until('the unblock to be heard', () => heard.length > 1);
    await sql.query(
      `UPDATE conversation_members SET state = 'declined' WHERE conversation_id = $1 AND user_id = $2`,
      [ac, c],
    );
    await until('the answer to be heard', () => heard.length > 2);
    // Only the conversation the pair shares, never the other one.
    expect(heard).toEqual([ab, ab, ac].map(String));
  } finally {
    await Promise.all([sql.end(), listener.end()]);
  }
});
