// Pictures and files in a real browser (issue 15): attach with "Attach", paste a picture,
// the per-file progress with Cancel, the other person seeing them live, and the form
// without JavaScript.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BrowserContextOptions, Page } from 'playwright-core';
import { openChat, signUp, type TestApp, type TestUser } from './support/app.js';
import { DESKTOP, PHONE, hasChromium } from './support/browser.js';
import { useBrowserPages } from './support/pages.js';
import { pdf, png } from './support/files.js';

const pages = useBrowserPages();
const { shot } = pages;
let app: TestApp;
let ann: TestUser;
let bo: TestUser;
let chatId: number;
let picture: Buffer;

beforeAll(async () => {
  app = pages.app();
  ann = await signUp(app, { displayName: 'Ann Lee' });
  bo = await signUp(app, { displayName: 'Bo Park' });
  chatId = await openChat(ann, bo);
  picture = await png(1200, 800, '#6495ed');
});

/** Logged in as `user`, in the conversation. */
async function logIn(user: TestUser, device: BrowserContextOptions): Promise<Page> {
  const page = await pages.logIn(user, device);
  page.setDefaultTimeout(10_000);
  await page.goto(`/conversations/${chatId}`);
  return page;
}

describe.skipIf(!hasChromium)('pictures and files in the browser', () => {
  it('attaches a picture and a file with a caption; the other person sees them live, the picture’s place kept', async () => {
    const annPage = await logIn(ann, DESKTOP);
    const boPage = await logIn(bo, PHONE);
    await annPage.getByLabel('Attach').setInputFiles([
      { name: 'park.png', mimeType: 'image/png', buffer: picture },
      { name: 'tickets.pdf', mimeType: 'application/pdf', buffer: pdf(48_000) },
    ]);
    const uploads = annPage.getByRole('list', { name: 'Files to send' });
    // Uploads and the picture's thumbnail take seconds on a slow, busy machine (CI), not the
    // poll's default 1 s.
    await expect.poll(() => uploads.getByText('Ready').count(), { timeout: 15_000 }).toBe(2);
    await annPage.getByRole('textbox', { name: 'Message' }).fill('Tickets for Saturday');
    await annPage.getByRole('button', { name: 'Send' }).click();
    await expect.poll(() => uploads.isHidden()).toBe(true);

    // Bo, on a phone, sees the picture by its name, sized before it loads, and the file's link.
    const img = boPage.getByRole('img', { name: 'park.png' });
    await img.waitFor();
    expect(await img.getAttribute('width')).toBe('320');
    expect(await img.getAttribute('height')).toBe('213');
    const link = boPage.getByRole('link', { name: /tickets\.pdf.*PDF document · 47 KB/ });
    await link.waitFor();
    await expect
      .poll(() => img.evaluate((i: HTMLImageElement) => i.complete && i.naturalWidth > 0))
      .toBe(true);
    const full = await boPage.locator('a:has(img[alt="park.png"])').getAttribute('href');
    expect(full).toMatch(/^\/attachments\/[0-9a-f-]{36}$/);
    await shot(annPage, 'files-desktop');
    await shot(boPage, 'files-phone');
    await boPage.emulateMedia({ colorScheme: 'dark' });
    await shot(boPage, 'files-phone-dark');
    // After a reload it is the server's page that shows them.
    await boPage.reload();
    await boPage.getByRole('img', { name: 'park.png' }).waitFor();
    await annPage.context().close();
    await boPage.context().close();
  });

  it('pastes a picture into the message box, and it is sent', async () => {
    const page = await logIn(ann, DESKTOP);
    const base64 = (await png(300, 200, '#ff8fb8')).toString('base64');
    await page.getByRole('textbox', { name: 'Message' }).evaluate((box, data) => {
      const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      box.dispatchEvent(
        new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }),
      );
    }, base64);
    await expect
      .poll(() => page.getByRole('list', { name: 'Files to send' }).getByText('Ready').count())
      .toBe(1);
    await page.getByRole('button', { name: 'Send' }).click();
    const sent = page.locator('#messages li.msg.mine[data-id] img[alt="image.png"]');
    await sent.waitFor();
    expect(await sent.getAttribute('width')).toBe('300');
    await page.context().close();
  });

  it('takes a file dropped on the conversation', async () => {
    const page = await logIn(ann, DESKTOP);
    await page.getByRole('log').evaluate((log) => {
      const transfer = new DataTransfer();
      transfer.items.add(
        new File(['minutes of the meeting'], 'minutes.txt', { type: 'text/plain' }),
      );
      for (const type of ['dragover', 'drop'])
        log.dispatchEvent(
          new DragEvent(type, { dataTransfer: transfer, bubbles: true, cancelable: true }),
        );
    });
    const uploads = page.getByRole('list', { name: 'Files to send' });
    await expect.poll(() => uploads.getByText('Ready').count(), { timeout: 15_000 }).toBe(1);
    await page.getByRole('button', { name: 'Send' }).click();
    await page
      .locator('#messages li.msg.mine[data-id]')
      .getByRole('link', { name: /minutes\.txt/ })
      .waitFor();
    await page.context().close();
  });

  it('shows each file’s progress with Cancel, refuses a file too big before sending it', async () => {
    const page = await logIn(ann, PHONE);
    app.ctx.attachments.maxBytes = 10 * 1024 * 1024;
    // A slow connection (200 KB/s up), to see the upload in flight and cancel it midway.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: -1,
      uploadThroughput: 200 * 1024,
    });
    await page.getByLabel('Attach').setInputFiles(
      [
        { name: 'slow.pdf', mimeType: 'application/pdf', buffer: pdf(3_000_000) },
        { name: 'huge.pdf', mimeType: 'application/pdf', buffer: pdf(10 * 1024 * 1024 + 1) },
      ],
      { timeout: 30_000 },
    ); // 13 MB handed to the page through the protocol: slow on a busy machine
    const uploads = page.getByRole('list', { name: 'Files to send' });
    const bar = uploads.getByRole('progressbar', { name: 'Uploading slow.pdf' });
    await expect
      .poll(() => bar.evaluate((b: HTMLProgressElement) => b.value), { timeout: 15_000 })
      .toBeGreaterThan(5);
    await uploads.getByText('That file is too big: files can be at most 10 MB.').waitFor();
    await shot(page, 'files-progress-phone');
    // Cancelled midway: the server drops what it had stored of it.
    await page.getByRole('button', { name: 'Cancel slow.pdf' }).click();
    await page.getByRole('button', { name: 'Remove huge.pdf' }).click();
    await expect.poll(() => uploads.isHidden()).toBe(true);
    await expect
      .poll(
        async () =>
          (await app.pool.query(`SELECT 1 FROM attachments WHERE name IN ('slow.pdf', 'huge.pdf')`))
            .rowCount,
      )
      .toBe(0);
    await page.context().close();
  });

  it('attaches a file without JavaScript: the form posts it with the caption', async () => {
    const page = await logIn(bo, { ...DESKTOP, javaScriptEnabled: false });
    await page
      .getByLabel('Attach')
      .setInputFiles([
        { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('bring water') },
      ]);
    await page.getByRole('textbox', { name: 'Message' }).fill('My list');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.waitForURL(/#m\d+$/);
    const link = page.getByRole('link', { name: /notes\.txt.*TXT file · 11 bytes/ });
    await link.waitFor();
    await page.context().close();
  });
});
