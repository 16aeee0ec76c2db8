// CPU per MB of storing a file's chunks in the embedded PostgreSQL, by way of storing: the
// app's (this process) and PostgreSQL's (its processes, children of this one). Ten 10 MB files
// in 256 KB chunks, two statements at a time as the store does (storage.ts):
//   insert   one INSERT of a bytea parameter per chunk (the store before COPY)
//   copy     copyInRows, four chunks per statement (the store now)
// Alternated, several rounds, since the machine is shared.
// Usage: npx tsx bench/store-cpu.ts [rounds]
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { startEmbeddedDatabase } from '../src/core/db/embedded.js';
import { copyInRows, type BinaryField } from '../src/core/db/copy-in.js';
import { descendantsCpu, loadAverage, postgresCpuDelta } from './proc.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const FILES = 10;
const MB = 10;
const CHUNK = 256 * 1024;

async function main() {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'chat-bench-store-'));
  await fsp.chmod(dir, 0o755); // embedded PostgreSQL runs as the postgres user when we are root
  const db = await startEmbeddedDatabase({
    dataDir: dir,
    log: { info: () => undefined, warn: (m) => console.error(m) },
  });
  try {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    await pool.query(`CREATE TABLE chunks (id uuid, variant text, n int, data bytea NOT NULL,
        PRIMARY KEY (id, variant, n));
      ALTER TABLE chunks ALTER COLUMN data SET STORAGE EXTERNAL`);
    const file = randomBytes(MB * 1024 * 1024);
    const chunks: Buffer[] = [];
    for (let at = 0; at < file.length; at += CHUNK) chunks.push(file.subarray(at, at + CHUNK));
    const ways = {
      insert: (id: string) =>
        chunks.map(
          (data, n) => () =>
            pool.query('INSERT INTO chunks VALUES ($1, $2, $3, $4)', [id, 'original', n, data]),
        ),
      copy: (id: string) => {
        const uuid = Buffer.from(id.replace(/-/g, ''), 'hex');
        const jobs: (() => Promise<unknown>)[] = [];
        for (let from = 0; from < chunks.length; from += 4) {
          const rows: BinaryField[][] = chunks.slice(from, from + 4).map((data, i) => {
            const n = Buffer.alloc(4);
            n.writeInt32BE(from + i);
            return [uuid, Buffer.from('original'), n, [data]];
          });
          jobs.push(() => copyInRows(pool, 'COPY chunks FROM STDIN (FORMAT binary)', rows));
        }
        return jobs;
      },
    };
    const results: Record<string, string[]> = { insert: [], copy: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, jobsFor] of Object.entries(ways)) {
        await pool.query('TRUNCATE chunks');
        await pool.query('CHECKPOINT').catch(() => undefined); // superuser only: skipped
        await Promise.all([pool.query('SELECT 1'), pool.query('SELECT 1')]);
        const jobs = Array.from({ length: FILES }, () => jobsFor(randomUUID())).flat();
        const app0 = process.cpuUsage();
        const db0 = descendantsCpu(process.pid);
        const t0 = performance.now();
        let next = 0;
        const worker = async () => {
          while (next < jobs.length) await jobs[next++]!();
        };
        await Promise.all([worker(), worker()]);
        const s = (performance.now() - t0) / 1000;
        const app = process.cpuUsage(app0);
        const pgMs = postgresCpuDelta(db0, descendantsCpu(process.pid)) * 1000;
        const total = FILES * MB;
        results[name]!.push(
          `${s.toFixed(2)} s, app ${((app.user + app.system) / 1000 / total).toFixed(2)}, PostgreSQL ${(pgMs / total).toFixed(2)} ms/MB`,
        );
      }
    }
    await pool.end();
    console.log(`${FILES} × ${MB} MB in 256 KB chunks (embedded PostgreSQL), CPU per MB stored:`);
    for (const [name, lines] of Object.entries(results))
      console.log(`  ${name.padEnd(7)} ${lines.join(' | ')}`);
    console.log(`  load average: ${loadAverage()}`);
  } finally {
    await db.stop();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}

await main();
