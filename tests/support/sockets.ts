// Real socket.io-client users for the realtime tests. Every wait is bounded;
// every socket opened here is remembered so a test file can close them all.
import request from 'supertest';
import { io, type Socket } from 'socket.io-client';
import { expect } from 'vitest';
import type { ClientToServerEvents, ServerToClientEvents } from '../../src/shared/protocol.js';
import { befriend, post, sessionCookie, type Agent, type TestApp, type TestUser } from './app.js';
import { sleep } from './wait.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
type Untyped = Socket; // any event, any payload: for garbage and reserved events
type Payload<E extends keyof ServerToClientEvents> = Parameters<ServerToClientEvents[E]>[0];
type AckOf<E extends keyof ClientToServerEvents> = Parameters<
  Parameters<ClientToServerEvents[E]>[1]
>[0];

const opened = new Set<ClientSocket>();

export { sleep, until } from './wait.js';

/** The session cookie ("chat.sid=...") of a logged-in agent; the rolling session re-sends it on every response. */
export async function cookieOf(agent: Agent): Promise<string> {
  const cookie = sessionCookie(await agent.get('/'));
  if (!cookie) throw new Error('the agent has no session cookie');
  return cookie;
}

/** A second, separate session of the same user (another device or browser). */
export async function logInAgain(
  app: TestApp,
  user: TestUser,
): Promise<{ agent: Agent; cookie: string }> {
  const agent = request.agent(app.baseUrl);
  const res = await post(agent, '/login', { email: user.email, password: user.password });
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new Error(`login failed: ${res.status}`);
  return { agent, cookie };
}

/** Opens a socket (not waiting for the handshake). */
export function connect(
  baseUrl: string,
  cookie?: string,
  headers: Record<string, string> = {},
): ClientSocket {
  const socket: ClientSocket = io(baseUrl, {
    extraHeaders: { ...(cookie ? { cookie } : {}), ...headers },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    timeout: 5000,
  });
  opened.add(socket);
  return socket;
}

/** Resolves once connected; rejects with the server's refusal. */
export function connected(socket: ClientSocket, timeoutMs = 5000): Promise<ClientSocket> {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => done(new Error(`no connection within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const done = (err?: Error) => {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', done);
      if (err) reject(err);
      else resolve(socket);
    };
    const onConnect = () => done();
    socket.on('connect', onConnect);
    socket.on('connect_error', done);
  });
}

export async function openSocket(baseUrl: string, cookie: string): Promise<ClientSocket> {
  return connected(connect(baseUrl, cookie));
}

/** The connect_error of a socket that must be refused; throws if it connects. */
export async function refusal(
  baseUrl: string,
  cookie?: string,
  headers?: Record<string, string>,
): Promise<Error> {
  const socket = connect(baseUrl, cookie, headers);
  try {
    await connected(socket);
  } catch (err) {
    return err as Error;
  } finally {
    socket.disconnect();
  }
  throw new Error('the socket was accepted but should have been refused');
}

/** Closes every socket opened since the last call. */
export function closeSockets(): void {
  for (const s of opened) s.disconnect();
  opened.clear();
}

/** A typed request with an ack, bounded by a timeout. */
export function ask<E extends keyof ClientToServerEvents>(
  socket: ClientSocket,
  event: E,
  payload: Parameters<ClientToServerEvents[E]>[0],
  timeoutMs = 5000,
): Promise<AckOf<E>> {
  return askRaw(socket, event, payload, timeoutMs) as Promise<AckOf<E>>;
}

/** Any payload at all, as a broken or hostile client would send it. */
export function askRaw(
  socket: ClientSocket,
  event: string,
  payload: unknown,
  timeoutMs = 5000,
): Promise<unknown> {
  return (socket as unknown as Untyped)
    .timeout(timeoutMs)
    .emitWithAck(event, payload) as Promise<unknown>;
}

/** Fire and forget, with any arguments (or none): no ack function at all. */
export function emitRaw(socket: ClientSocket, event: string, ...args: unknown[]): void {
  (socket as unknown as Untyped).emit(event, ...args);
}

/** Sends a message and returns the acked message; fails the test on an error ack. */
export async function send(
  socket: ClientSocket,
  conversationId: number,
  body: string,
  clientId = crypto.randomUUID(),
) {
  const ack = await ask(socket, 'message:send', { conversationId, body, clientId });
  if (!ack.ok) throw new Error(`send failed: ${ack.error.code} ${ack.error.message}`);
  return ack.message;
}

/** The next event (matching the predicate) on this socket, or a failure after timeoutMs. */
export function waitFor<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  predicate: (p: Payload<E>) => boolean = () => true,
  timeoutMs = 3000,
): Promise<Payload<E>> {
  const s = socket as unknown as Untyped;
  const name: string = event;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      s.off(name, listener);
      reject(new Error(`no matching "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (p: Payload<E>) => {
      if (!predicate(p)) return;
      clearTimeout(timer);
      s.off(name, listener);
      resolve(p);
    };
    s.on(name, listener);
  });
}

/** Waits `ms` and asserts no matching event arrived meanwhile. */
export async function expectNone<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
  ms = 300,
  predicate: (p: Payload<E>) => boolean = () => true,
): Promise<void> {
  const got = record(socket, event);
  await sleep(ms);
  stopRecording(socket, event, got);
  expect(got.filter(predicate), `unexpected "${event}"`).toEqual([]);
}

const recorders = new WeakMap<unknown[], (p: unknown) => void>();

/** Every event of this kind from now on, in arrival order. */
export function record<E extends keyof ServerToClientEvents>(
  socket: ClientSocket,
  event: E,
): Payload<E>[] {
  const got: Payload<E>[] = [];
  const listener = (p: unknown) => void got.push(p as Payload<E>);
  recorders.set(got, listener);
  const name: string = event;
  (socket as unknown as Untyped).on(name, listener);
  return got;
}

export function stopRecording(socket: ClientSocket, event: string, got: unknown[]): void {
  const listener = recorders.get(got);
  if (listener) (socket as unknown as Untyped).off(event, listener);
}

/** The reason the server gave when it dropped this socket, or a failure after timeoutMs. */
export function disconnection(socket: ClientSocket, timeoutMs = 3000): Promise<string> {
  if (!socket.connected) return Promise.resolve('already disconnected');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still connected after ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('disconnect', (reason) => {
      clearTimeout(timer);
      resolve(reason);
    });
  });
}

/** The one direct conversation of two friends, started over HTTP as the page does. */
export async function openDirect(from: TestUser, to: TestUser): Promise<number> {
  await befriend(from, to);
  const res = await post(from.agent, '/conversations', { email: to.email }, '/search');
  const id = /\/conversations\/(\d+)/.exec(String(res.headers.location))?.[1];
  if (res.status !== 303 || !id) throw new Error(`could not start a conversation: ${res.status}`);
  return Number(id);
}

/** A group conversation made directly in the database (there is no page for groups yet). */
export async function makeGroup(app: TestApp, title: string, members: TestUser[]): Promise<number> {
  const { rows } = await app.pool.query<{ id: number }>(
    `INSERT INTO conversations (kind, title) VALUES ('group', $1) RETURNING id`,
    [title],
  );
  const id = rows[0]!.id;
  await app.pool.query(
    'INSERT INTO conversation_members (conversation_id, user_id) SELECT $1, unnest($2::bigint[])',
    [id, members.map((m) => m.id)],
  );
  return id;
}

/** A user's tabs: several sockets on one session. */
export async function openTabs(app: TestApp, user: TestUser, n: number): Promise<ClientSocket[]> {
  const cookie = await cookieOf(user.agent);
  return Promise.all(Array.from({ length: n }, () => openSocket(app.baseUrl, cookie)));
}
