// Summarises a V8 .cpuprofile (from `npm run bench -- --cpu-prof`): self time by package
// and by function. Usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { round, table } from './stats.js';

interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
  }>;
  samples: number[];
  timeDeltas: number[];
}

/** Where a frame's code lives: a package, the app's own code, Node itself, or V8's buckets. */
function owner(url: string, fn: string): string {
  if (!url) return fn.startsWith('(') ? fn : '(native)';
  if (url.startsWith('node:')) return 'node (core)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `app ${url.slice(dist + 1)}`;
  return url.replace(/^file:\/\//, '');
}

export function summarise(file: string, top = 25): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const byOwner = new Map<string, number>();
  const byFn = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    total += us;
    const { functionName, url, lineNumber } = n.callFrame;
    const o = owner(url, functionName);
    byOwner.set(o, (byOwner.get(o) ?? 0) + us);
    const where = url ? `${path.basename(url)}:${lineNumber + 1}` : '';
    const key = `${functionName || '(anonymous)'} ${where} [${o}]`;
    byFn.set(key, (byFn.get(key) ?? 0) + us);
  }
  const rows = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => [k, round(us / 1000, 0), round((us / total) * 100, 1)]);
  return [
    `${path.basename(file)}: ${round(total / 1e6, 1)} s of samples`,
    table('Self time by package', ['package', 'ms', '%'], rows(byOwner)),
    table('Self time by function', ['function', 'ms', '%'], rows(byFn)),
  ].join('\n\n');
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarise(file, top ? Number(top) : 25));
}
