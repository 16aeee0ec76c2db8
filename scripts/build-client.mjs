// Bundles the browser script (src/client, TypeScript) into public/app.js.
// Written to a temporary file and renamed, so a page loading it never reads half a file.
import { build } from 'esbuild';
import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

const result = await build({
  entryPoints: ['src/client/app.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  outfile: 'public/app.js',
  write: false,
  logLevel: 'warning',
});
for (const file of result.outputFiles) {
  const tmp = path.join(path.dirname(file.path), `.${path.basename(file.path)}.${process.pid}.tmp`);
  await writeFile(tmp, file.contents);
  await rename(tmp, file.path);
}
