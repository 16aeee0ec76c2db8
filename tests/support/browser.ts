import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);

/** Debian's Chromium, headless, with nothing that reaches out to the network. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
}

export const DESKTOP = { viewport: { width: 1280, height: 800 } };
export const PHONE = {
  viewport: { width: 390, height: 844 },
  isMobile: true,
  hasTouch: true,
  deviceScaleFactor: 2,
};

/**
 * A switch for a page's socket.io traffic, its WebSocket included: `page.route` alone does not
 * stop a WebSocket, and Chromium's offline emulation once let a reconnect through in CI (the
 * server saw the page's socket come back for ten seconds). Off, every new polling request is
 * aborted and every new WebSocket closed as it opens; connections made before stay as they are.
 */
export async function socketSwitch(page: Page): Promise<{ off(): void; on(): void }> {
  let allowed = true;
  await page.routeWebSocket(/\/socket\.io\//, (ws) => {
    if (allowed) ws.connectToServer();
    else void ws.close();
  });
  await page.route('**/socket.io/**', (route) => (allowed ? route.continue() : route.abort()));
  return {
    off: () => void (allowed = false),
    on: () => void (allowed = true),
  };
}
