// Two app processes sharing one database (and Redis, or PostgreSQL LISTEN/NOTIFY
// for fan-out): people on different instances chat live, and when one instance
// dies its users reconnect to the other and miss nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { REDIS, reachable } from './support/redis.js';
import { reapServers, startTwoInstances } from './support/servers.js';
import {
  ask,
  closeSockets,
  openSocket,
  record,
  send,
  waitFor,
  disconnection,
} from './support/sockets.js';
import { until } from './support/wait.js';
import type { MessageDto } from '../src/shared/protocol.js';

const redisUp = await reachable(REDIS.host, REDIS.port);

afterEach(async () => {
  closeSockets();
  await reapServers();
});

const variants: Array<[string, Record<string, string>, boolean]> = [
  [
    'Redis Streams',
    { SOCKET_ADAPTER: 'redis', REDIS_URL: `redis://${REDIS.host}:${REDIS.port}` },
    redisUp,
  ],
  ['PostgreSQL LISTEN/NOTIFY', { SOCKET_ADAPTER: 'postgres' }, true],
];

describe.each(variants)('two instances with %s fan-out', (_name, adapterEnv, available) => {
  it.skipIf(!available)(
    'people on different instances chat live both ways, and after one instance dies its user reconnects to the other and gets every missed message once',
    async () => {
      const pair = await startTwoInstances(adapterEnv);
      const { one, two, ann, bo, conversationId } = pair;
      try {
        const annSocket = await openSocket(one.url, ann.cookie);
        const boSocket = await openSocket(two.url, bo.cookie);

        // Ann (instance one) → Bo (instance two), and back.
        const toBo = waitFor(boSocket, 'message:new', (m) => m.body === 'hello from one');
        await send(annSocket, conversationId, 'hello from one');
        expect((await toBo).senderName).toBe('Ann');
        const toAnn = waitFor(annSocket, 'message:new', (m) => m.body === 'hello from two');
        const last = await send(boSocket, conversationId, 'hello from two');
        expect((await toAnn).id).toBe(last.id);

        // Typing crosses instances too.
        const typing = waitFor(annSocket, 'typing', (t) => t.userId === bo.id && t.typing);
        await ask(boSocket, 'typing', { conversationId, typing: true });
        await typing;

        // Instance one dies hard; Bo keeps writing meanwhile on instance two.
        const dropped = disconnection(annSocket, 10_000);
        await one.stop('SIGKILL');
        await dropped;
        const sent: MessageDto[] = [];
        for (let i = 1; i <= 15; i++)
          sent.push(await send(boSocket, conversationId, `while you were away ${i}`));

        // Ann's client reconnects, to instance two, and catches up from its watermark.
        const again = await openSocket(two.url, ann.cookie);
        const live = record(again, 'message:new');
        const got: MessageDto[] = [];
        let after = last.id;
        for (;;) {
          const res = await ask(again, 'sync', { conversationId, after });
          if (!res.ok) throw new Error(res.error.message);
          got.push(...res.messages);
          after = res.messages.at(-1)?.id ?? after;
          if (!res.hasMore) break;
        }
        expect(got.map((m) => m.body)).toEqual(sent.map((m) => m.body));
        expect(new Set(got.map((m) => m.id)).size).toBe(15);

        // And live delivery carries on from there.
        const next = await send(boSocket, conversationId, 'welcome back');
        await until(
          'the live message after reconnecting',
          () => live.some((m) => m.id === next.id),
          5000,
        );
        expect(live.filter((m) => m.id === next.id)).toHaveLength(1);
      } finally {
        closeSockets();
        await pair.close();
      }
    },
    90_000,
  );
});
