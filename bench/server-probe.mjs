// Preloaded by the benchmark into the processes it measures (the app: node --expose-gc
// --import ./bench/server-probe.mjs dist/server.js; the relay likewise). It changes nothing in
// the app; with BENCH_PROBE=1 it only
//  - keeps an event-loop delay histogram (perf_hooks, 5 ms resolution; reported as lag
//    beyond those 5 ms),
//  - answers commands on stdin, one per line: "report <seq>" or "gc <seq>" (a full GC first),
//    with one stdout line "@@probe {json}": memory usage and the event-loop delay since the
//    previous answer; "prof-start <seq>" / "prof-stop <seq> <file>" run the V8 CPU profiler
//    (in-process inspector session) and write a .cpuprofile, and
//  - sends its own process SIGTERM when stdin closes (the benchmark died), so a killed
//    benchmark never leaves a server (or its embedded PostgreSQL) behind, and
//  - times each HTTP request inside the server, from its 'request' event to the response's
//    'finish' (its last byte handed to the socket): "requests <seq>" answers the durations
//    since the last ask, in ms, and forgets them. The page table's "server p50" is this: the
//    server's own time, without the load process's reading and parsing of the page.
import fs from 'node:fs';
import http from 'node:http';
import { Session } from 'node:inspector';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import process from 'node:process';
import readline from 'node:readline';

if (process.env.BENCH_PROBE === '1' && !process.stdin.isTTY) {
  const RESOLUTION_MS = 5;
  const eld = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  eld.enable();
  // The histogram holds whole timer intervals: the lag is what exceeds the resolution.
  const ms = (/** @type {number} */ ns) =>
    Math.max(0, Math.round((ns / 1e6 - RESOLUTION_MS) * 100) / 100);
  /** @type {Session | undefined} */
  let session;
  const answer = (/** @type {object} */ report) =>
    process.stdout.write(`@@probe ${JSON.stringify(report)}\n`);
  /** @type {number[]} */
  let requestMs = [];
  const emit = http.Server.prototype.emit;
  http.Server.prototype.emit = function (/** @type {string} */ event, ...args) {
    if (event === 'request') {
      const t0 = process.hrtime.bigint();
      const res = /** @type {http.ServerResponse} */ (args[1]);
      res.once('finish', () => requestMs.push(Number(process.hrtime.bigint() - t0) / 1e6));
    }
    return emit.call(this, event, ...args);
  };
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const [cmd, seq, file] = line.trim().split(' ');
    if (cmd === 'requests') {
      answer({ seq: Number(seq), requestMs });
      requestMs = [];
      return;
    }
    if (cmd === 'prof-start') {
      session ??= new Session();
      session.connect();
      session.post('Profiler.enable', () =>
        session?.post('Profiler.start', (err) => answer({ seq: Number(seq), ok: !err })),
      );
      return;
    }
    if (cmd === 'prof-stop') {
      if (!session) return answer({ seq: Number(seq), ok: false });
      session.post('Profiler.stop', (err, result) => {
        if (!err && file)
          fs.writeFileSync(decodeURIComponent(file), JSON.stringify(result.profile));
        session?.disconnect();
        session = undefined;
        answer({ seq: Number(seq), ok: !err });
      });
      return;
    }
    const gc = /** @type {undefined | (() => void)} */ (globalThis.gc);
    if (cmd === 'gc' && typeof gc === 'function') {
      gc();
      gc();
    }
    const report = {
      seq: Number(seq),
      gc: cmd === 'gc' && typeof gc === 'function',
      memory: process.memoryUsage(),
      eventLoop: {
        p50: ms(eld.percentile(50)),
        p99: ms(eld.percentile(99)),
        max: ms(eld.max),
      },
    };
    eld.reset();
    // With BENCH_TRACE=1 the app keeps where each ack's time went (src/features/messages/trace.ts).
    const trace = /** @type {{ __chatTrace?: () => object }} */ (globalThis).__chatTrace;
    answer(trace ? { ...report, trace: trace() } : report);
  });
  lines.on('close', () => process.kill(process.pid, 'SIGTERM'));
  process.stdin.unref();
}
