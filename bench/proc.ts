// Linux /proc readings: a process's RSS and CPU time, the machine's CPU, open-file limits.
// Every reader returns undefined instead of throwing (a process may be gone; not Linux).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';

let ticksPerSecond: number | undefined;
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!Number.isFinite(ticksPerSecond) || ticksPerSecond <= 0) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** VmRSS of a process in KiB. */
export function rssKb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

interface ProcStat {
  comm: string;
  ppid: number;
  cpuSeconds: number; // user + system
}

function procStat(pid: number | string): ProcStat | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may hold spaces and parentheses: it ends at the last ')'.
    const close = text.lastIndexOf(')');
    const comm = text.slice(text.indexOf('(') + 1, close);
    const f = text
      .slice(close + 2)
      .trim()
      .split(' ');
    // After comm: state(0) ppid(1) ... utime(11) stime(12)
    return {
      comm,
      ppid: Number(f[1]),
      cpuSeconds: (Number(f[11]) + Number(f[12])) / clockTicks(),
    };
  } catch {
    return undefined;
  }
}

/** CPU seconds of every live descendant of `root` (not itself), by pid: the embedded PostgreSQL's processes under the app. */
export function descendantsCpu(root: number): Map<number, number> {
  const all = new Map<number, ProcStat>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return new Map();
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(e);
    if (s) all.set(Number(e), s);
  }
  const out = new Map<number, number>();
  const under = (pid: number): boolean => {
    for (let p = all.get(pid)?.ppid, hops = 0; p && hops < 10; p = all.get(p)?.ppid, hops++)
      if (p === root) return true;
    return false;
  };
  for (const [pid, s] of all) if (under(pid)) out.set(pid, s.cpuSeconds);
  return out;
}

export function cpuSecondsOf(pid: number): number | undefined {
  return procStat(pid)?.cpuSeconds;
}

/** CPU seconds of every process named `postgres` on the machine, by pid. */
export function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  let entries: string[];
  try {
    entries = fs.readdirSync('/proc');
  } catch {
    return out;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = procStat(e);
    if (s && s.comm === 'postgres') out.set(Number(e), s.cpuSeconds);
  }
  return out;
}

/** Summed CPU of the postgres processes between two samples (backends born meanwhile count from 0). */
export function postgresCpuDelta(before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0;
  for (const [pid, t] of after) sum += t - (before.get(pid) ?? 0);
  return sum;
}

/** Busy and total jiffies of the whole machine. */
export function machineCpu(): { busy: number; total: number } | undefined {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Soft and hard "Max open files" of this process (children inherit them). */
export function openFileLimits(): { soft: number; hard: number } | undefined {
  try {
    const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(fs.readFileSync('/proc/self/limits', 'utf8'));
    if (!m) return undefined;
    const n = (s: string) => (s === 'unlimited' ? Number.POSITIVE_INFINITY : Number(s));
    return { soft: n(m[1]!), hard: n(m[2]!) };
  } catch {
    return undefined;
  }
}

/** The 1, 5 and 15 minute load averages, as the benches print them ("1.20 0.80 0.33"). */
export function loadAverage(): string {
  return os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
