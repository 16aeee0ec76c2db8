// The floor of issue 17's one-in-flight shape: the bare relay against the same relay that
// commits every message to PostgreSQL (group commit, one bare table) before emitting and
// acking it (bench/relay-server.ts with RELAY_STORE_URL). No app code runs: whatever ratio
// this reaches is the best any server keeping "committed before the ack" can reach here.
//   DATABASE_URL=postgres://… npx tsx bench/floor.ts [--rounds N] [--pairs P] [--seconds T] [--batches B]
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startChild, sleep, type Managed } from './children.js';
import { closeTabs, connectTabs, runScenario, type ScenarioResult, type TabSpec } from './load.js';
import { round } from './stats.js';
import { numberFlag as arg } from './args.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = arg('rounds', 3);
const pairs = arg('pairs', 50);
const seconds = arg('seconds', 10);
const batches = arg('batches', 1);
const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function start(label: string, env: NodeJS.ProcessEnv): Promise<{ child: Managed; port: number }> {
  return new Promise((resolve, reject) => {
    const child = startChild(
      label,
      process.execPath,
      ['--max-semi-space-size=32', '--import', 'tsx', 'bench/relay-server.ts'],
      {
        env: { ...process.env, NODE_ENV: 'production', ...env },
        cwd: ROOT,
        onStdoutLine: (line) => {
          const port = /^\{"port":(\d+)\}$/.exec(line)?.[1];
          if (port) resolve({ child, port: Number(port) });
          else console.error(`[${label}] ${line}`);
        },
      },
    );
    void child.exited.then(() => reject(new Error(`${label} exited`)));
  });
}

const name = `chat_floor_${Math.random().toString(36).slice(2, 10)}`;
const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(server);
url.pathname = `/${name}`;
const children: Managed[] = [];
try {
  const relay = await start('relay', {});
  const floor = await start('floor', {
    RELAY_STORE_URL: url.toString(),
    RELAY_STORE_BATCHES: String(batches),
  });
  children.push(relay.child, floor.child);
  const specs = (): TabSpec[] =>
    Array.from({ length: 2 * pairs }, (_, i) => {
      const user = i;
      const peer = user ^ 1;
      const conversationId = (user >> 1) + 1;
      return { user, peer, conversationId, auth: { userId: user, peerId: peer, conversationId } };
    });
  const relayTabs = await connectTabs(`http://127.0.0.1:${relay.port}`, specs());
  const floorTabs = await connectTabs(`http://127.0.0.1:${floor.port}`, specs());
  await sleep(500);
  const results: Array<{ relay: ScenarioResult; floor: ScenarioResult }> = [];
  const base = {
    mode: 'one-in-flight',
    target: 'relay',
    seconds,
    warmupSeconds: 2,
    window: 1,
    rate: 0,
    ackTimeoutMs: 10_000,
    statsSettleMs: 0,
  } as const;
  for (let r = 1; r <= rounds; r++) {
    const a = await runScenario(
      relayTabs,
      { ...base, name: `relay #${r}` },
      { serverPid: relay.child.pid },
    );
    const b = await runScenario(
      floorTabs,
      { ...base, name: `floor #${r}` },
      { serverPid: floor.child.pid },
    );
    results.push({ relay: a, floor: b });
    console.log(
      `#${r} relay ${round(a.messagesPerSec, 0)} msg/s p50 ${a.e2eMs.p50} ms | ` +
        `relay+commit ${round(b.messagesPerSec, 0)} msg/s p50 ${b.e2eMs.p50} ms p99 ${b.e2eMs.p99} ms | ` +
        `ratio ${round(b.messagesPerSec / a.messagesPerSec, 2)}, p50 ${round((b.e2eMs.p50 ?? 0) / (a.e2eMs.p50 ?? 1), 2)}x ` +
        `| cpu relay ${a.cpu.serverPct}% floor ${b.cpu.serverPct}% pg ${b.cpu.postgresPct}% loadgen ${b.cpu.loadgenPct}%`,
    );
  }
  closeTabs(relayTabs);
  closeTabs(floorTabs);
} finally {
  for (const c of children) await c.stop();
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
