// Fails when src/ has an import cycle, type-only imports included: a cycle
// means two modules cannot be understood (or split) one without the other.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(process.argv[2] ?? 'src');
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) walk(full);
    else if (full.endsWith('.ts')) files.push(full);
  }
})(ROOT);

const IMPORT = /(?:import|export)\s[^'"]*?from\s+'(\.[^']+)'|import\(\s*'(\.[^']+)'\s*\)/g;
const graph = new Map();
for (const file of files) {
  const deps = [];
  for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
    const spec = (m[1] ?? m[2]).replace(/\.js$/, '.ts');
    deps.push(path.resolve(path.dirname(file), spec));
  }
  graph.set(file, deps);
}

const cycles = [];
const state = new Map(); // 1: on the current path, 2: done
const stack = [];
function visit(file) {
  state.set(file, 1);
  stack.push(file);
  for (const dep of graph.get(file) ?? []) {
    if (state.get(dep) === 1) cycles.push([...stack.slice(stack.indexOf(dep)), dep]);
    else if (!state.has(dep) && graph.has(dep)) visit(dep);
  }
  stack.pop();
  state.set(file, 2);
}
for (const file of files) if (!state.has(file)) visit(file);

const rel = (f) => path.relative(process.cwd(), f);
if (cycles.length) {
  for (const c of cycles) console.error(`import cycle: ${c.map(rel).join(' → ')}`);
  process.exit(1);
}
console.log(`no import cycle among ${files.length} files in ${rel(ROOT) || '.'}`);
