// `npx tsx bench/insert-cpu.ts [calls] [rounds]`: the database CPU of one message-insert call,
// old function against new (insert_messages_v5 against v6: v6 also checks the sender's
// membership under the lock). Each call stores 50 messages over 50 of 100 direct
// conversations, as a busy writer batch does. The figure is the backend's own CPU time
// (/proc/<pid>/stat, utime + stime), so a busy machine slows it less than wall-clock calls/s;
// the versions take turns, round by round. Needs a PostgreSQL on this machine: it makes a
// throwaway database on DATABASE_URL's server (default the local one), migrates, drops it.
import pg from 'pg';
import { cpuMs as cpuOf, withThrowawayDb } from './throwaway-db.js';

const calls = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 10);
const versions = [5, 6];

await withThrowawayDb('chat_bench_insert', 100, async (url) => {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  const cpuMs = () => cpuOf(pid);
  await client.query('SET synchronous_commit = off'); // CPU, not waits on the disk
  // Users 2c-1 and 2c are conversation c's members; 2c - c%2 is one of them.
  const sql = (
    v: number,
  ) => `SELECT count(*) FROM (SELECT array_agg(c) cs, array_agg(2 * c - c % 2) ss,
      array_agg(gen_random_uuid()) ks, array_agg('hello there ' || c) bs, array_agg(NULL::bigint) rs
    FROM (SELECT 1 + (random() * 99)::int c FROM generate_series(1, 50)) x) a,
    LATERAL insert_messages_v${v}(a.cs, a.ss, a.ks, a.bs, a.rs)`;
  const perCall = new Map<number, number[]>(versions.map((v) => [v, []]));
  for (let round = 0; round < rounds; round++) {
    for (const v of round % 2 ? [...versions].reverse() : versions) {
      for (let i = 0; i < 20; i++) await client.query(sql(v)); // warm
      const c0 = cpuMs();
      for (let i = 0; i < calls; i++) await client.query(sql(v));
      perCall.get(v)!.push((cpuMs() - c0) / calls);
    }
  }
  await client.end();
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  for (const v of versions) {
    const m = median(perCall.get(v)!);
    console.log(
      `insert_messages_v${v}: ${m.toFixed(2)} ms database CPU per 50-row call (median of ${rounds} rounds of ${calls}; ` +
        `${perCall
          .get(v)!
          .map((x) => x.toFixed(2))
          .join(' ')}) = ${(1000 / m).toFixed(0)} calls per CPU-second`,
    );
  }
});
