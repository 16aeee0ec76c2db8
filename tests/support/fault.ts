// Helpers for the fault tests (tests/fault-*.test.ts): a chat client that
// behaves as the browser script (src/client/chat.ts) does — an outbox of
// unconfirmed messages, each resent with the same clientId on every reconnect,
// a sync from the watermark on every connect (the script's own sync engine,
// src/client/sync.ts), and duplicates dropped by id — and the database read
// directly. The server processes they stop and start are in servers.ts.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { io } from 'socket.io-client';
import { RETRYABLE_CODES, type MessageDto } from '../../src/shared/protocol.js';
import { createSync } from '../../src/client/sync.js';
import type { ClientSocket } from './sockets.js';

export { sleep, until } from './wait.js';
export {
  freePort,
  healthz,
  reapServers,
  signUpAt,
  spawnServer,
  type ServerProcess,
} from './servers.js';

// ——— a client that behaves as the browser script does ———

export interface Outgoing {
  clientId: string;
  body: string;
  /** How many times message:send was emitted for it. */
  attempts: number;
  /** Submitted while the socket was down: the first emit waited for the connection. */
  waitedForConnection: boolean;
  /** Why earlier attempts did not confirm it: 'timeout', 'disconnected', or an error code. */
  failures: string[];
  /** Set once the server confirmed it (ack, or the sender's own message:new / sync). */
  message?: MessageDto;
  confirmedBy?: 'ack' | 'live' | 'sync';
  /** The attempt number that confirmed it. */
  confirmedOnAttempt?: number;
  /** A refusal the browser would not retry (invalid, not_found…). */
  refused?: string;
  /** An attempt is in flight (sent, no answer yet). */
  inFlight: number;
  /** The browser shows "Not sent — … Retry": waits for a reconnect or a click. */
  failed: boolean;
}

/**
 * One browser tab on a conversation page, reduced to its socket logic (see
 * src/client/chat.ts): socket.io-client with reconnection on, the same URL each time.
 */
export class BrowserLikeClient {
  readonly socket: ClientSocket;
  readonly outbox = new Map<string, Outgoing>();
  readonly sent: Outgoing[] = [];
  /** Every stored message this tab knows, by id. */
  readonly known = new Map<number, MessageDto>();
  /** How often each id arrived live (message:new). More than once is a duplicate delivery. */
  readonly liveCount = new Map<number, number>();
  readonly syncCount = new Map<number, number>();
  connects = 0;
  /** The page's own catch-up (src/client/sync.ts): from the watermark, page by page. */
  private readonly sync: () => void;
  disconnects: string[] = [];
  /** Ack answers (or timeouts) seen, by kind, with how long each took. */
  readonly answers: Array<{ kind: string; ms: number }> = [];

  constructor(
    url: string,
    cookie: string,
    readonly conversationId: number,
    readonly ackTimeoutMs = 10_000,
  ) {
    this.socket = io(url, {
      extraHeaders: { cookie },
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 250,
      reconnectionDelayMax: 1000,
      timeout: 5000,
    });
    this.sync = createSync(this.socket, conversationId, 0, {
      onMessage: (m) => {
        this.syncCount.set(m.id, (this.syncCount.get(m.id) ?? 0) + 1);
        this.add(m, 'sync');
      },
      onCaughtUp: () => {},
    });
    this.socket.on('connect', () => {
      this.connects++;
      this.sync();
      // What waits in the outbox, or failed while away, goes again with the same clientId.
      for (const item of this.outbox.values()) if (!item.refused) this.send(item);
    });
    this.socket.on('disconnect', (reason) => void this.disconnects.push(reason));
    this.socket.on('message:new', (m) => {
      this.liveCount.set(m.id, (this.liveCount.get(m.id) ?? 0) + 1);
      this.add(m, 'live');
    });
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  /** The user types a message and presses Enter. */
  submit(body: string): Outgoing {
    const item: Outgoing = {
      clientId: randomUUID(),
      body,
      attempts: 0,
      waitedForConnection: !this.socket.connected,
      failures: [],
      inFlight: 0,
      failed: false,
    };
    this.outbox.set(item.clientId, item);
    this.sent.push(item);
    this.send(item);
    return item;
  }

  /** The user clicks "Retry" on every message marked "Not sent" (the socket is up). */
  retryFailed(): number {
    let n = 0;
    for (const item of this.outbox.values())
      if (item.failed && !item.refused && this.socket.connected) {
        n++;
        this.send(item);
      }
    return n;
  }

  private send(item: Outgoing): void {
    if (!this.outbox.has(item.clientId)) return;
    if (!this.socket.connected) return; // "Waiting for the connection…": goes on connect
    item.attempts++;
    item.inFlight++;
    item.failed = false;
    const attempt = item.attempts;
    const t0 = Date.now();
    this.socket
      .timeout(this.ackTimeoutMs)
      .emit(
        'message:send',
        { conversationId: this.conversationId, body: item.body, clientId: item.clientId },
        (err, res) => {
          item.inFlight--;
          const kind = err
            ? /disconnected/.test(err.message)
              ? 'disconnected'
              : 'timeout'
            : res.ok
              ? 'ok'
              : res.error.code;
          this.answers.push({ kind, ms: Date.now() - t0 });
          if (!this.outbox.has(item.clientId)) return; // already confirmed
          if (!err && res.ok) return this.add(res.message, 'ack', attempt);
          item.failures.push(kind);
          if (!err && !res.ok && !RETRYABLE_CODES.includes(res.error.code)) {
            item.refused = `${res.error.code}: ${res.error.message}`;
            this.outbox.delete(item.clientId);
          }
          item.failed = true;
        },
      );
  }

  private add(m: MessageDto, how: 'ack' | 'live' | 'sync', attempt?: number): void {
    if (m.conversationId !== this.conversationId) return;
    const mine = this.outbox.get(m.clientId);
    if (mine) {
      this.outbox.delete(m.clientId);
      mine.message = m;
      mine.confirmedBy = how;
      mine.confirmedOnAttempt = attempt ?? mine.attempts;
      mine.failed = false;
    }
    if (!this.known.has(m.id)) this.known.set(m.id, m);
  }

  close(): void {
    this.socket.disconnect();
  }
}

export interface SenderCounts {
  submitted: number;
  ackedFirstTime: number;
  retried: number;
  waitedForConnection: number;
  confirmedByAck: number;
  confirmedByLive: number;
  confirmedBySync: number;
  unconfirmed: number;
  refused: number;
  maxAttempts: number;
}

export function countSent(items: Outgoing[]): SenderCounts {
  return {
    submitted: items.length,
    ackedFirstTime: items.filter((i) => i.message && i.confirmedOnAttempt === 1).length,
    retried: items.filter((i) => i.attempts > 1).length,
    waitedForConnection: items.filter((i) => i.waitedForConnection).length,
    confirmedByAck: items.filter((i) => i.confirmedBy === 'ack').length,
    confirmedByLive: items.filter((i) => i.confirmedBy === 'live').length,
    confirmedBySync: items.filter((i) => i.confirmedBy === 'sync').length,
    unconfirmed: items.filter((i) => !i.message && !i.refused).length,
    refused: items.filter((i) => i.refused).length,
    maxAttempts: Math.max(0, ...items.map((i) => i.attempts)),
  };
}

// ——— the database, read directly ———

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A group conversation made in SQL (there is no page for groups). */
export function makeGroupIn(url: string, title: string, memberIds: number[]): Promise<number> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ id: string }>(
      `INSERT INTO conversations (kind, title) VALUES ('group', $1) RETURNING id`,
      [title],
    );
    const id = Number(rows[0]!.id);
    await c.query(
      'INSERT INTO conversation_members (conversation_id, user_id) SELECT $1, unnest($2::bigint[])',
      [id, memberIds],
    );
    return id;
  });
}

export interface StoredRow {
  id: number;
  clientId: string;
  senderId: number | null;
  body: string;
}

/** Every stored message of a conversation, in id order. */
export function storedRows(url: string, conversationId: number): Promise<StoredRow[]> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{
      id: string;
      client_id: string;
      sender_id: string;
      body: string;
    }>(
      `SELECT id, client_id, sender_id, body FROM messages WHERE conversation_id = $1 ORDER BY id`,
      [conversationId],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      clientId: r.client_id,
      senderId: r.sender_id === null ? null : Number(r.sender_id),
      body: r.body,
    }));
  });
}

/**
 * Checks the stored rows against what the senders believe and what the
 * recipient got; returns the problems found, in words (empty: all good).
 */
export function reconcile(
  rows: StoredRow[],
  senders: BrowserLikeClient[],
  recipient: BrowserLikeClient,
): string[] {
  const problems: string[] = [];
  const byClientId = new Map<string, StoredRow[]>();
  for (const r of rows) byClientId.set(r.clientId, [...(byClientId.get(r.clientId) ?? []), r]);
  for (const [clientId, list] of byClientId)
    if (list.length > 1) problems.push(`clientId ${clientId} stored ${list.length} times`);
  const submitted = new Set<string>();
  for (const s of senders)
    for (const item of s.sent) {
      submitted.add(item.clientId);
      const stored = byClientId.get(item.clientId) ?? [];
      if (item.refused) problems.push(`"${item.body}" was refused: ${item.refused}`);
      else if (!item.message) problems.push(`"${item.body}" was never confirmed`);
      if (stored.length !== 1) problems.push(`"${item.body}" stored ${stored.length} times`);
      else if (item.message && item.message.id !== stored[0]!.id)
        problems.push(
          `"${item.body}" acked as id ${item.message.id} but stored as ${stored[0]!.id}`,
        );
      else if (stored[0]!.body !== item.body)
        problems.push(`"${item.body}" stored with another body`);
    }
  for (const r of rows)
    if (!submitted.has(r.clientId)) problems.push(`row ${r.id} ("${r.body}") was never sent`);
  const dbIds = rows.map((r) => r.id).sort((a, b) => a - b);
  const gotIds = [...recipient.known.keys()].sort((a, b) => a - b);
  const missing = dbIds.filter((id) => !recipient.known.has(id));
  const extra = gotIds.filter((id) => !dbIds.includes(id));
  if (missing.length) problems.push(`the recipient never got ids ${missing.join(', ')}`);
  if (extra.length) problems.push(`the recipient got ids not stored: ${extra.join(', ')}`);
  const liveTwice = [...recipient.liveCount].filter(([, n]) => n > 1).map(([id]) => id);
  if (liveTwice.length)
    problems.push(`message:new arrived more than once for ${liveTwice.join(', ')}`);
  return problems;
}
