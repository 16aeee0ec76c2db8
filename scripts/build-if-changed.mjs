// `npm start` and `npm run migrate` build only when something the build reads
// has changed since the last build (a hash of their contents, kept in
// dist/.build-hash), so a second start serves at once. A fresh clone has no
// dist/ and builds as before.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const INPUTS = [
  'src',
  'tsconfig.json',
  'tsconfig.build.json',
  'scripts/build-client.mjs',
  'package-lock.json',
];
const OUTPUTS = ['dist/server.js', 'dist/migrate-cli.js', 'public/app.js'];
const STAMP = 'dist/.build-hash';

function filesUnder(p) {
  if (!existsSync(p)) return [];
  if (!statSync(p).isDirectory()) return [p];
  return readdirSync(p)
    .sort()
    .flatMap((name) => filesUnder(path.join(p, name)));
}

const hash = createHash('sha256');
for (const file of INPUTS.flatMap(filesUnder)) {
  hash.update(file).update('\0').update(readFileSync(file)).update('\0');
}
const digest = hash.digest('hex');
const built = existsSync(STAMP) ? readFileSync(STAMP, 'utf8').trim() : '';

if (built === digest && OUTPUTS.every((f) => existsSync(f))) process.exit(0);

console.log(built ? 'sources changed: building' : 'building (first start)');
// Built in place (a running `node dist/server.js` keeps finding its files), then
// what a moved or deleted source left behind in dist/ is removed.
execFileSync('npm', ['run', '--silent', 'build'], { stdio: 'inherit' });
for (const file of filesUnder('dist')) {
  const source = file.replace(/^dist/, 'src').replace(/\.js(\.map)?$/, '.ts');
  if (/\.js(\.map)?$/.test(file) && !existsSync(source)) rmSync(file);
}
writeFileSync(STAMP, `${digest}\n`);
