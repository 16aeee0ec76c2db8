// The conversation page with 50 formatted messages, some with reactions and replies: what
// one request costs (the bench's "conversation page" row measures it under the real server;
// this keeps an eye on it in every run, with a bound loose enough for a busy machine).
import fs from 'node:fs';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { signUp, startTestApp, type TestApp } from '../support/app.js';
import { ask, closeSockets, cookieOf, openDirect, openSocket, send } from '../support/sockets.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  closeSockets();
  await app?.close();
});

it('a page of 50 formatted messages with reactions and replies renders in a few milliseconds', async () => {
  const ann = await signUp(app, { displayName: 'Ann' });
  const bo = await signUp(app, { displayName: 'Bo' });
  const chat = await openDirect(ann, bo);
  const [a, b] = [
    await openSocket(app.baseUrl, await cookieOf(ann.agent)),
    await openSocket(app.baseUrl, await cookieOf(bo.agent)),
  ];
  let last = 0;
  for (let i = 0; i < 50; i++) {
    const body =
      i % 3 === 0
        ? `Message ${i}:\n- **bold** and \`code\`\n- see https://example.com/${i}`
        : `Message ${i} with _some_ **formatting**`;
    const res = await ask(i % 2 ? b : a, 'message:send', {
      conversationId: chat,
      body,
      clientId: crypto.randomUUID(),
      ...(i % 10 === 9 ? { replyTo: last } : {}),
    });
    if (!res.ok) throw new Error(res.error.message);
    last = res.message.id;
    if (i % 4 === 0) {
      await ask(a, 'reaction:toggle', { conversationId: chat, messageId: last, emoji: '👍' });
      await ask(b, 'reaction:toggle', { conversationId: chat, messageId: last, emoji: '❤️' });
    }
  }
  await send(a, chat, 'the last one');
  const path = `/conversations/${chat}`;
  for (let i = 0; i < 10; i++) await ann.agent.get(path); // warm: JIT, templates, pool
  const times: number[] = [];
  let bytes = 0;
  const cpu0 = process.cpuUsage(); // client and server share this process: both counted
  for (let i = 0; i < 40; i++) {
    const t0 = performance.now();
    const res = await ann.agent.get(path);
    times.push(performance.now() - t0);
    expect(res.status).toBe(200);
    bytes = res.text.length;
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((x, y) => x - y);
  const median = times[times.length / 2]!;
  console.info(
    `conversation page, 50 formatted messages: median ${median.toFixed(2)} ms (supertest, loopback), CPU ${((cpu.user + cpu.system) / 1000 / 40).toFixed(2)} ms a request (client and server), ${bytes} characters`,
  );
  // The figure is printed above; the bound only catches a page a person would wait for
  // (the whole suite on two busy cores takes ~60 ms here, a quiet machine a few).
  expect(median).toBeLessThan(250);

  // Each message is rendered by its compiled partial, not by EJS's include(), which looks
  // the file up on disk (and copies all the page's locals) once per message: the page's
  // file lookups are its few fixed partials, not fifty more.
  const lookups = vi.spyOn(fs, 'existsSync');
  try {
    expect((await ann.agent.get(path)).status).toBe(200);
    expect(lookups.mock.calls.length).toBeLessThan(25);
  } finally {
    lookups.mockRestore();
  }
});
