// Command-line flags of `npm run bench`. Every flag has a default; --smoke shrinks them all.

export interface BenchOptions {
  users: number;
  sockets: number;
  seconds: number;
  window: number;
  rate: number;
  pairs: number;
  rounds: number;
  trace: boolean;
  memorySockets: number;
  pageRequests: number;
  pageSeconds: number;
  timeoutSeconds: number;
  quietWait: number;
  busyRetries: number;
  build: boolean;
  smoke: boolean;
  keep: boolean;
  cpuProf: boolean;
  dbStats: boolean;
  out: string;
}

const HELP = `Usage: npm run bench -- [flags]

  --users N           users to sign up (even; paired into N/2 direct conversations)   [500]
  --sockets S         sockets (tabs) spread over the users                           [1000]
  --seconds T         measured seconds per scenario (plus a short warm-up)             [10]
  --window W          unacked messages per socket in flat-out                          [4]
  --rate R            total messages/s of the steady scenario                          [1000]
  --pairs P           one-in-flight: conversations whose one sender waits for each ack
                      (one tab per user; at most --users/2)                   [50; smoke 10]
  --rounds N          one-in-flight: relay and app in turn, N times each          [3; smoke 1]
  --no-trace          do not run the app with BENCH_TRACE=1 (where each ack's time went)
  --memory-sockets M  sockets for the memory-per-socket step (0 skips it)            [2000]
  --page-requests P   sequential requests per page timing                             [200]
  --timeout T         global limit in seconds; children are killed, exit code 1       [600]
  --quiet-wait Q      before each scenario, wait up to Q s for other processes to leave
                      the CPU (< 25% busy); 0 = never wait                      [30; smoke 0]
  --busy-retries B    run a scenario again (up to B more times) when other processes took
                      > 40% of a core during it; the least disturbed run is kept [2; smoke 0]
  --no-build          do not run \`npm run build\` first
  --cpu-prof          CPU-profile the server (app and relay) during each measured window:
                      bench/results/profiles/<scenario>.cpuprofile, summarised in the report
  --no-db-stats       skip the database counters (commits, WAL syncs): they need an 11 s
                      settle after each scenario and page (PostgreSQL publishes them late)
                      [on; off with --smoke, --db-stats turns them on]
  --keep              keep the temporary DATA_DIR / database (for inspection)
  --out FILE          where to write the JSON results       [bench/results/latest.json]
  --smoke             tiny and quick (20 users, 40 sockets, 2 s, 100 memory sockets)
  --help

Environment: DATABASE_URL=postgres://... runs against that server in a throwaway database
chat_bench_<random> (created and dropped here); without it the app uses embedded PostgreSQL
in a fresh temporary DATA_DIR.`;

export function parseArgs(argv: string[]): BenchOptions {
  const smoke = argv.includes('--smoke');
  const o: BenchOptions = {
    users: smoke ? 20 : 500,
    sockets: smoke ? 40 : 1000,
    seconds: smoke ? 2 : 10,
    window: 4,
    rate: 1000,
    pairs: smoke ? 10 : 50,
    rounds: smoke ? 1 : 3,
    trace: true,
    memorySockets: smoke ? 100 : 2000,
    pageRequests: smoke ? 50 : 200,
    pageSeconds: smoke ? 1 : 5,
    timeoutSeconds: smoke ? 120 : 600,
    quietWait: smoke ? 0 : 30,
    busyRetries: smoke ? 0 : 2,
    build: true,
    smoke,
    keep: false,
    cpuProf: false,
    dbStats: !smoke,
    out: 'bench/results/latest.json',
  };
  const numeric: Record<string, keyof BenchOptions> = {
    '--users': 'users',
    '--sockets': 'sockets',
    '--seconds': 'seconds',
    '--window': 'window',
    '--rate': 'rate',
    '--pairs': 'pairs',
    '--rounds': 'rounds',
    '--memory-sockets': 'memorySockets',
    '--page-requests': 'pageRequests',
    '--timeout': 'timeoutSeconds',
    '--quiet-wait': 'quietWait',
    '--busy-retries': 'busyRetries',
  };
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const [flag, inline] = raw.includes('=') ? raw.split('=', 2) : [raw, undefined];
    if (flag === '--help' || flag === '-h') {
      console.log(HELP);
      process.exit(0);
    } else if (flag === '--smoke') continue;
    else if (flag === '--no-build') o.build = false;
    else if (flag === '--keep') o.keep = true;
    else if (flag === '--cpu-prof') o.cpuProf = true;
    else if (flag === '--no-trace') o.trace = false;
    else if (flag === '--db-stats') o.dbStats = true;
    else if (flag === '--no-db-stats') o.dbStats = false;
    else if (flag === '--out') {
      const v = inline ?? argv[++i];
      if (!v) fail('--out needs a file name');
      o.out = v;
    } else if (flag && flag in numeric) {
      const v = Number(inline ?? argv[++i]);
      if (!Number.isFinite(v) || v < 0) fail(`${flag} needs a number ≥ 0`);
      (o as unknown as Record<string, number>)[numeric[flag]!] = v;
    } else fail(`unknown flag ${raw}`);
  }
  if (o.users < 2 || o.users % 2) fail('--users must be an even number ≥ 2');
  if (o.sockets < o.users) fail('--sockets must be at least --users (every user needs a tab)');
  if (o.seconds <= 0) fail('--seconds must be > 0');
  if (o.window < 1) fail('--window must be ≥ 1');
  o.users = Math.floor(o.users);
  o.sockets = Math.floor(o.sockets);
  o.window = Math.floor(o.window);
  o.rounds = Math.max(1, Math.floor(o.rounds));
  o.pairs = Math.max(1, Math.min(Math.floor(o.pairs), o.users / 2));
  o.pageSeconds = Math.min(o.pageSeconds, Math.max(1, o.seconds / 2));
  return o;
}

function fail(message: string): never {
  console.error(`bench: ${message}\n\n${HELP}`);
  process.exit(2);
}

/** `--name N` of the smaller benchmarks' command lines (bench/files.ts, floor.ts, ...). */
export function numberFlag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
