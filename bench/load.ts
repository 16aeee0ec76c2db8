// The socket load: many socket.io-client sockets ("tabs") in this process, a send loop
// (closed loop with a window, or open loop at a fixed rate) and the measurements.
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { io, type Socket } from 'socket.io-client';
import type {
  ClientToServerEvents,
  MessageDto,
  ServerToClientEvents,
} from '../src/shared/protocol.js';
import { sleep } from './children.js';
import { mapLimit } from './http.js';
import { cpuSecondsOf, machineCpu, postgresCpu, postgresCpuDelta } from './proc.js';
import { round, Samples } from './stats.js';
import type { ProbeReport } from './children.js';

export type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface TabSpec {
  user: number; // index of the user owning the tab
  peer: number; // index of the other member of the user's conversation
  conversationId: number;
  cookie?: string; // app: the user's chat.sid cookie
  auth?: Record<string, unknown>; // relay: who the socket is
}

export interface Tab extends TabSpec {
  socket: ClientSocket;
  outstanding: number;
}

const open = new Set<ClientSocket>();

/** Closes every socket this process still has open (the cleanup's last word). */
export function closeAllSockets(): number {
  const n = open.size;
  for (const s of open) {
    s.removeAllListeners();
    s.disconnect();
  }
  open.clear();
  return n;
}

/** Opens the sockets (websocket only, no reconnection), at most `concurrency` handshakes at once. */
export async function connectTabs(
  url: string,
  specs: TabSpec[],
  concurrency = 50,
  timeoutMs = 15_000,
): Promise<Tab[]> {
  const tabs: Tab[] = [];
  try {
    await mapLimit(specs, concurrency, async (spec) => {
      const socket: ClientSocket = io(url, {
        transports: ['websocket'],
        forceNew: true,
        reconnection: false,
        timeout: timeoutMs,
        extraHeaders: spec.cookie ? { cookie: spec.cookie } : {},
        auth: spec.auth ?? {},
      });
      open.add(socket);
      const tab: Tab = { ...spec, socket, outstanding: 0 };
      tabs.push(tab);
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('connect_error', (err) =>
          reject(new Error(`socket of user ${spec.user} refused: ${err.message}`)),
        );
      });
    });
  } catch (err) {
    closeTabs(tabs);
    throw err;
  }
  return tabs;
}

export function closeTabs(tabs: Tab[]): void {
  for (const t of tabs) {
    t.socket.removeAllListeners();
    t.socket.disconnect();
    open.delete(t.socket);
  }
  tabs.length = 0;
}

export interface DbCounters {
  commits: number;
  walSyncs: number | null;
  inserted: number;
}

export interface Probe {
  serverPid: number;
  /** Called as the measured window opens (resets the server's event-loop histogram, ...). */
  windowStart?: () => Promise<void>;
  /** Called as it closes: the server's event-loop lag (and ack trace) during the window. */
  windowEnd?: () => Promise<ProbeReport | undefined>;
  /** Counters of the app's database (none for the relay). */
  db?: () => Promise<DbCounters>;
}

/**
 * flat-out: every socket keeps `window` sends unacked; rate: an open loop at `rate`/s;
 * one-in-flight: one sender per conversation (the even user's tab) sends its next message
 * only once the last is acked, as a person's tab or a bot does.
 */
export type Mode = 'flat-out' | 'rate' | 'one-in-flight';

export interface ScenarioOptions {
  name: string;
  target: 'relay' | 'app';
  mode: Mode;
  seconds: number;
  warmupSeconds: number;
  window: number; // flat-out: unacked messages per socket
  rate: number; // rate: messages/s in total
  ackTimeoutMs: number;
  /** Wait before reading the database counters at the end (pg_stat lag). */
  statsSettleMs: number;
}

export interface ScenarioResult {
  name: string;
  target: 'relay' | 'app';
  mode: Mode;
  sockets: number;
  window: number | null;
  targetRate: number | null;
  measuredSeconds: number;
  sent: number;
  ackedOk: number;
  messagesPerSec: number; // first delivery to a recipient socket, inside the window
  ackedPerSec: number;
  eventsPerSec: number; // every message:new received by any socket, inside the window
  e2eMs: { p50: number | null; p95: number | null; p99: number | null; max: number | null };
  ackMs: { p50: number | null; p99: number | null };
  errors: { nack: number; timeout: number; lost: number; disconnected: number; codes: string[] };
  /** Percent of one core; machine = all cores (200 on 2 cores); other = machine minus the three. */
  cpu: {
    serverPct: number | null;
    loadgenPct: number;
    postgresPct: number;
    machinePct: number | null;
    otherPct: number | null;
  };
  /** The server's event-loop delay during the window (how late a 5 ms timer fired). */
  serverEventLoopMs: { p50: number; p99: number; max: number } | null;
  /** Where the app's ack latency went (BENCH_TRACE=1), null for the relay. */
  trace: ProbeReport['trace'] | null;
  db: null | {
    seconds: number;
    commitsPerSec: number;
    walSyncsPerSec: number | null;
    insertedPerSec: number;
    messagesPerWalSync: number | null;
    stored: number;
  };
}

interface Pending {
  sentAt: number;
  measured: boolean;
  recipient: number;
  acked: boolean;
  delivered: boolean;
}

const BODY = 'Benchmark message: the quick brown fox jumps over the lazy dog. #';

/**
 * One scenario on already-connected tabs: warm-up, measured window, then a drain that waits
 * for every ack and delivery (or the ack timeout). A message counts when the first socket of
 * its recipient gets message:new; latency is that moment minus the send, in this process.
 */
export async function runScenario(
  tabs: Tab[],
  opts: ScenarioOptions,
  probe: Probe,
): Promise<ScenarioResult> {
  const pending = new Map<string, Pending>();
  const e2e = new Samples();
  const ackLat = new Samples();
  const errors = { nack: 0, timeout: 0, lost: 0, disconnected: 0, codes: new Set<string>() };
  let sending = true;
  let measuring = false;
  let sent = 0;
  let ackedOk = 0;
  let ackedInWindow = 0;
  let deliveredInWindow = 0;
  let eventsInWindow = 0;
  let lastActivity = performance.now();

  const settle = (clientId: string, p: Pending) => {
    if (p.acked && p.delivered) pending.delete(clientId);
  };

  const onMessage = (tab: Tab, m: MessageDto) => {
    const now = performance.now();
    lastActivity = now;
    if (measuring) eventsInWindow++;
    const p = pending.get(m.clientId);
    if (!p || p.delivered || tab.user !== p.recipient) return;
    p.delivered = true;
    if (measuring) deliveredInWindow++;
    if (p.measured) e2e.add(now - p.sentAt);
    settle(m.clientId, p);
  };
  const onDisconnect = () => {
    errors.disconnected++;
  };
  const listeners = tabs.map((tab) => {
    const fn = (m: MessageDto) => onMessage(tab, m);
    tab.socket.on('message:new', fn);
    tab.socket.on('disconnect', onDisconnect);
    return fn;
  });

  const send = (tab: Tab) => {
    const clientId = randomUUID();
    const p: Pending = {
      sentAt: performance.now(),
      measured: measuring,
      recipient: tab.peer,
      acked: false,
      delivered: false,
    };
    pending.set(clientId, p);
    tab.outstanding++;
    sent++;
    tab.socket
      .timeout(opts.ackTimeoutMs)
      .emit(
        'message:send',
        { conversationId: tab.conversationId, body: `${BODY}${sent}`, clientId },
        (err, ack) => {
          const now = performance.now();
          lastActivity = now;
          tab.outstanding--;
          if (err) {
            errors.timeout++;
            pending.delete(clientId);
          } else if (!ack.ok) {
            errors.nack++;
            errors.codes.add(ack.error.code);
            pending.delete(clientId);
          } else {
            ackedOk++;
            if (measuring) ackedInWindow++;
            if (p.measured) ackLat.add(now - p.sentAt);
            p.acked = true;
            settle(clientId, p);
          }
          if (sending && opts.mode !== 'rate') pump(tab);
        },
      );
  };
  const window = opts.mode === 'one-in-flight' ? 1 : opts.window;
  const pump = (tab: Tab) => {
    while (sending && tab.outstanding < window && tab.socket.connected) send(tab);
  };

  const before = {
    db: probe.db ? await probe.db() : undefined,
  };
  const t0 = performance.now();
  let ticker: NodeJS.Timeout | undefined;
  if (opts.mode === 'flat-out') {
    for (const tab of tabs) pump(tab);
  } else if (opts.mode === 'one-in-flight') {
    for (const tab of tabs) if (tab.user % 2 === 0) pump(tab);
  } else {
    let next = 0;
    ticker = setInterval(() => {
      const due = Math.floor(((performance.now() - t0) / 1000) * opts.rate);
      while (sent < due) send(tabs[next++ % tabs.length]!);
    }, 2);
  }

  await sleep(opts.warmupSeconds * 1000);
  await probe.windowStart?.();
  const a = sample(probe.serverPid);
  measuring = true;
  await sleep(opts.seconds * 1000);
  measuring = false;
  const b = sample(probe.serverPid);
  sending = false;
  if (ticker) clearInterval(ticker);
  const sendEnd = performance.now();
  const serverReport = (await probe.windowEnd?.()) ?? null;
  const eventLoop = serverReport?.eventLoop;

  // Drain: every ack and every delivery, or give up after the ack timeout.
  const drainDeadline = performance.now() + opts.ackTimeoutMs + 2_000;
  while (pending.size && performance.now() < drainDeadline) await sleep(20);
  for (const p of pending.values()) if (p.acked && !p.delivered) errors.lost++;
  const activeSeconds = (Math.max(sendEnd, lastActivity) - t0) / 1000;

  tabs.forEach((tab, i) => {
    tab.socket.off('message:new', listeners[i]);
    tab.socket.off('disconnect', onDisconnect);
  });

  let db: ScenarioResult['db'] = null;
  if (probe.db && before.db) {
    // A backend publishes its counters at most once a second, and the last ones only after
    // 10 s idle (PGSTAT_IDLE_INTERVAL): without this wait the final second is missing.
    await sleep(opts.statsSettleMs);
    const after = await probe.db();
    const commits = after.commits - before.db.commits;
    const walSyncs =
      after.walSyncs !== null && before.db.walSyncs !== null
        ? after.walSyncs - before.db.walSyncs
        : null;
    const inserted = after.inserted - before.db.inserted;
    db = {
      seconds: round(activeSeconds, 2),
      commitsPerSec: Math.round(commits / activeSeconds),
      walSyncsPerSec: walSyncs === null ? null : Math.round(walSyncs / activeSeconds),
      insertedPerSec: Math.round(inserted / activeSeconds),
      messagesPerWalSync: walSyncs ? round(inserted / walSyncs, 1) : null,
      stored: inserted,
    };
  }

  const wall = (b.t - a.t) / 1000;
  const pct = (x: number) => round((x / wall) * 100, 0);
  const machine =
    a.machine && b.machine
      ? round(
          ((b.machine.busy - a.machine.busy) / (b.machine.total - a.machine.total)) *
            100 *
            os.cpus().length,
          0,
        )
      : null;
  const serverPct =
    a.server !== undefined && b.server !== undefined ? pct(b.server - a.server) : null;
  const loadgenPct = pct((b.self.user + b.self.system - a.self.user - a.self.system) / 1e6);
  const postgresPct = pct(postgresCpuDelta(a.postgres, b.postgres));
  const otherPct =
    machine === null ? null : Math.max(0, machine - (serverPct ?? 0) - loadgenPct - postgresPct);
  return {
    name: opts.name,
    target: opts.target,
    mode: opts.mode,
    sockets: tabs.length,
    window: opts.mode === 'rate' ? null : window,
    targetRate: opts.mode === 'rate' ? opts.rate : null,
    measuredSeconds: round(wall, 2),
    sent,
    ackedOk,
    messagesPerSec: Math.round(deliveredInWindow / wall),
    ackedPerSec: Math.round(ackedInWindow / wall),
    eventsPerSec: Math.round(eventsInWindow / wall),
    e2eMs: { p50: e2e.p(0.5), p95: e2e.p(0.95), p99: e2e.p(0.99), max: e2e.p(1) },
    ackMs: { p50: ackLat.p(0.5), p99: ackLat.p(0.99) },
    errors: { ...errors, codes: [...errors.codes] },
    cpu: { serverPct, loadgenPct, postgresPct, machinePct: machine, otherPct },
    serverEventLoopMs: eventLoop
      ? { p50: eventLoop.p50, p99: eventLoop.p99, max: eventLoop.max }
      : null,
    trace: serverReport?.trace ?? null,
    db,
  };
}

function sample(serverPid: number) {
  return {
    t: performance.now(),
    self: process.cpuUsage(),
    server: cpuSecondsOf(serverPid),
    postgres: postgresCpu(),
    machine: machineCpu(),
  };
}
