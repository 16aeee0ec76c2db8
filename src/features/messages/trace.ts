// Where a message's ack latency goes inside the server, for the benchmark only. Off unless
// BENCH_TRACE=1: then every mark is a performance.now() and a few additions; otherwise each
// call is one test of a constant. The four spans of one message:
//   checks: message:send arrived -> handed to the writer (validation, access decision)
//   queued: handed to the writer -> its batch's statement sent (waiting for a connection)
//   stored: statement sent -> result back (the SQL and the commit, WAL flush included)
//   fanout: result back -> ack about to be emitted (message:new to every member's sockets)
// With BENCH_TRACE=1 the summary since the last one is logged on SIGUSR2 and at shutdown, and
// bench/server-probe.mjs adds it to its reports (globalThis.__chatTrace).

export const tracing = process.env.BENCH_TRACE === '1';

export const SPANS = ['checks', 'queued', 'stored', 'fanout'] as const;
export type Span = (typeof SPANS)[number];

/** Per message: the time each span began (ms, performance.now()), filled in as it goes. */
export type Marks = Partial<Record<Span | 'done', number>>;

const MAX_SAMPLES = 200_000;
let samples: Record<Span, number[]> = fresh();
let batches: number[] = [];

function fresh(): Record<Span, number[]> {
  return { checks: [], queued: [], stored: [], fanout: [] };
}

export function now(): number {
  return tracing ? performance.now() : 0;
}

/** The message's spans are complete: keep them. */
export function finish(m: Marks): void {
  if (!tracing || samples.checks.length >= MAX_SAMPLES) return;
  const order = [...SPANS, 'done'] as const;
  for (let i = 0; i < SPANS.length; i++) {
    const a = m[order[i]!];
    const b = m[order[i + 1]!];
    if (a !== undefined && b !== undefined) samples[SPANS[i]!].push(b - a);
  }
}

/** One batch went to the database with this many messages. */
export function batch(size: number): void {
  if (tracing && batches.length < MAX_SAMPLES) batches.push(size);
}

export interface SpanSummary {
  n: number;
  mean: number;
  p50: number;
  p99: number;
}

export interface TraceSummary {
  spans: Record<Span, SpanSummary>;
  batches: { n: number; meanSize: number };
}

/** The summary since the last call, and a fresh start. */
export function take(): TraceSummary {
  const out = {
    spans: Object.fromEntries(SPANS.map((s) => [s, summarise(samples[s])])) as Record<
      Span,
      SpanSummary
    >,
    batches: {
      n: batches.length,
      meanSize: batches.length ? round(batches.reduce((a, b) => a + b, 0) / batches.length) : 0,
    },
  };
  samples = fresh();
  batches = [];
  return out;
}

function summarise(xs: number[]): SpanSummary {
  if (!xs.length) return { n: 0, mean: 0, p50: 0, p99: 0 };
  const s = [...xs].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))]!);
  return {
    n: s.length,
    mean: round(s.reduce((a, b) => a + b, 0) / s.length),
    p50: at(0.5),
    p99: at(0.99),
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

if (tracing) {
  (globalThis as { __chatTrace?: () => TraceSummary }).__chatTrace = take;
  const log = () => process.stderr.write(`ack latency trace: ${JSON.stringify(take())}\n`);
  process.on('SIGUSR2', log);
  process.on('exit', log);
}
