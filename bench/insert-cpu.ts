// `npx tsx bench/insert-cpu.ts [calls] [rounds]`: the database CPU of one message-insert call,
// old function against new (insert_messages_v5 against v6: v6 also checks the sender's
// membership under the lock). Each call stores 50 messages over 50 of 100 direct
// conversations, as a busy writer batch does. The figure is the backend's own CPU time
// (/proc/<pid>/stat, utime + stime), so a busy machine slows it less than wall-clock calls/s;
// the versions take turns, round by round. Needs a PostgreSQL on this machine: it makes a
// throwaway database on DATABASE_URL's server (default the local one), migrates, drops it.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { migrate } from '../src/core/db/migrate.js';

const server = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const calls = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 10);
const versions = [5, 6];
const name = `chat_bench_insert_${Math.random().toString(36).slice(2, 10)}`;
const at = (db: string) => {
  const u = new URL(server);
  u.pathname = `/${db}`;
  return u.toString();
};

const admin = new pg.Client({ connectionString: server });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
try {
  const pool = new pg.Pool({ connectionString: at(name), max: 1 });
  await migrate(pool);
  await pool.query(`
    INSERT INTO users (email, display_name, password_hash)
      SELECT 'u' || i || '@bench', 'U' || i, 'x' FROM generate_series(1, 200) i;
    INSERT INTO conversations (kind, direct_key)
      SELECT 'direct', (2 * i - 1) || ':' || (2 * i) FROM generate_series(1, 100) i;
    INSERT INTO conversation_members (conversation_id, user_id, state)
      SELECT c.id, v.u, 'accepted' FROM conversations c, LATERAL (VALUES
        (split_part(c.direct_key, ':', 1)::bigint), (split_part(c.direct_key, ':', 2)::bigint)) v (u);`);
  await pool.end();

  const client = new pg.Client({ connectionString: at(name) });
  await client.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const pid = rows[0]!.pid;
  const cpuMs = () => {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // clock ticks of 10 ms
  };
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
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
