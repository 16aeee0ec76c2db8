// Draws public/icon-192.png and icon-512.png from favicon.svg with the local Chromium (run by hand when the icon changes).
import { chromium } from 'playwright-core';
import { readFileSync } from 'node:fs';
const svg = readFileSync('public/favicon.svg', 'utf8');
const b = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox'],
});
for (const size of [192, 512]) {
  const p = await b.newPage({ viewport: { width: size, height: size } });
  // Full bleed for "maskable": the blue fills the square, the bubble inside the safe zone.
  await p.setContent(
    `<body style="margin:0;background:#6495ed;display:grid;place-items:center;height:100vh">${svg.replace('<svg ', `<svg width="${size * 0.8}" height="${size * 0.8}" `)}</body>`,
  );
  await p.screenshot({ path: `public/icon-${size}.png` });
}
await b.close();
