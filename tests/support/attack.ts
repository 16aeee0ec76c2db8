// Helpers for the attack suite (tests/attack-*.test.ts): database snapshots,
// a seeded random generator, HTML escaping as EJS does it, sockets with a
// hand-made handshake, a logger that writes into memory, and three people for a flood.
import { pino } from 'pino';
import { io, type Socket } from 'socket.io-client';
import type { Pool } from '../../src/core/db/pool.js';
import { createLogger, type Logger } from '../../src/core/logger.js';
import { signUp, type TestApp } from './app.js';
import { openDirect } from './sockets.js';

export interface DbSnapshot {
  messages: unknown[];
  members: unknown[];
  conversations: unknown[];
}

/** Everything an attacker could change about conversations, in a stable order. */
export async function snapshot(pool: Pool): Promise<DbSnapshot> {
  const [messages, members, conversations] = await Promise.all([
    pool.query('SELECT * FROM messages ORDER BY id'),
    pool.query('SELECT * FROM conversation_members ORDER BY conversation_id, user_id'),
    pool.query('SELECT * FROM conversations ORDER BY id'),
  ]);
  return { messages: messages.rows, members: members.rows, conversations: conversations.rows };
}

export async function countRows(pool: Pool, table: 'messages' | 'users' | 'conversations') {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`);
  return rows[0]!.n;
}

/** Mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const chance = (p: number) => next() < p;
  return { next, int, pick, chance };
}
export type Rng = ReturnType<typeof prng>;

/** What `<%= %>` makes of a string (EJS's escapeXML). */
export function escapeHtml(s: string): string {
  const map: Record<string, string> = {
    '&': '&amp;',
    '<': '&lt;',
    '>': '&gt;',
    '"': '&#34;',
    "'": '&#39;',
  };
  return s.replace(/[&<>'"]/g, (c) => map[c]!);
}

/** The page with the id (as a whole number, not inside a longer token) written as ":id". */
export function withoutId(text: string, id: number | string): string {
  return text.replace(new RegExp(`(?<![\\w-])${String(id)}(?![\\w-])`, 'g'), ':id');
}

const rawOpened = new Set<Socket>();

/** A socket with whatever handshake a hostile client likes: auth, query, no cookie. */
export function rawSocket(
  baseUrl: string,
  opts: {
    cookie?: string;
    auth?: Record<string, unknown>;
    query?: Record<string, string>;
    transports?: Array<'websocket' | 'polling'>;
  } = {},
): Socket {
  const socket = io(baseUrl, {
    extraHeaders: opts.cookie ? { cookie: opts.cookie } : {},
    auth: opts.auth ?? {},
    query: opts.query ?? {},
    transports: opts.transports ?? ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
  rawOpened.add(socket);
  return socket;
}

/** Resolves "connected" or the refusal's message, within timeoutMs. */
export function outcome(socket: Socket, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('timeout'), timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve('connected');
    });
    socket.once('connect_error', (err: Error) => {
      clearTimeout(timer);
      resolve(err.message);
    });
  });
}

export function closeRawSockets(): void {
  for (const s of rawOpened) s.disconnect();
  rawOpened.clear();
}

/** A pino logger built by the app's own createLogger (its redaction), writing into memory. */
export function capturingLogger(level = 'trace'): { logger: Logger; lines: string[] } {
  const logger = createLogger(level);
  const lines: string[] = [];
  const sink = { write: (chunk: string) => void lines.push(chunk) };
  // pino keeps its destination under this symbol; child loggers reach it through their prototype.
  (logger as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] = sink;
  return { logger, lines };
}

/** All Set-Cookie lines of a response. */
export function setCookies(res: { headers: Record<string, unknown> }): string[] {
  const raw = res.headers['set-cookie'];
  if (raw === undefined) return [];
  return Array.isArray(raw) ? (raw as string[]) : [raw as string];
}

/** A flooder, their victim and a bystander: the flooded conversation, and a calm one beside it. */
export async function floodTrio(app: TestApp) {
  const flooder = await signUp(app, { displayName: 'Flooder' });
  const victim = await signUp(app, { displayName: 'Victim' });
  const other = await signUp(app, { displayName: 'Other' });
  return {
    flooder,
    victim,
    other,
    flooded: await openDirect(flooder, victim),
    calm: await openDirect(other, victim),
  };
}
