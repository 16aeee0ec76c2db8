// Bundles the browser script (src/client, TypeScript) into public/app.js.
import { build } from 'esbuild';

await build({
  entryPoints: ['src/client/app.ts'],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  outfile: 'public/app.js',
  logLevel: 'warning',
});
