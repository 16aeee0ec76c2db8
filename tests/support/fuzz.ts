// The fuzzers' shared parts (tests/attack-fuzz-*.test.ts): seeded random values
// drawn from the hostile fixtures, the rules a valid payload follows, and the
// people and conversations a fuzz run works on. Seeded, so a failure names its
// seed and index and replays the same way (FUZZ_SEED=… to try another).
import { afterAll, beforeAll, expect } from 'vitest';
import type { ClientEvent } from '../../src/shared/schemas.js';
import {
  CODE_POINTS,
  KEYS,
  NUMBERS,
  POLLUTING_JSON,
  PROBES,
  STRINGS,
} from '../fixtures/hostile.js';
import { signUp, startTestApp, type TestApp, type TestUser } from './app.js';
import type { Rng } from './attack.js';
import { closeSockets, openDirect } from './sockets.js';

export const SEED = Number(process.env.FUZZ_SEED ?? 20_240_611);

export function randomText(r: Rng, max = 40): string {
  if (r.chance(0.3)) return r.pick(STRINGS);
  const n = r.chance(0.02) ? r.int(3990, 4010) : r.int(0, max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const [lo, hi] = r.pick(CODE_POINTS);
    s += String.fromCodePoint(r.int(lo, hi)); // whole code points: never a lone surrogate
  }
  return s;
}

export function randomValue(r: Rng, depth = 0): unknown {
  const k = r.int(0, depth > 3 ? 4 : 9);
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.pick(NUMBERS);
    case 2:
      return randomText(r);
    case 3:
      return r.chance(0.5);
    case 4:
      return r.int(-5, 5) * r.pick([1, 1000, 2 ** 40]);
    case 5:
      return Array.from({ length: r.int(0, 4) }, () => randomValue(r, depth + 1));
    case 6: {
      const o: Record<string, unknown> = {};
      for (let i = r.int(0, 4); i > 0; i--) o[r.pick(KEYS)] = randomValue(r, depth + 1);
      return o;
    }
    case 7: {
      // Deep nesting, hundreds of levels.
      let v: unknown = randomValue(r, 4);
      for (let i = r.int(50, 400); i > 0; i--) v = r.chance(0.5) ? [v] : { [r.pick(KEYS)]: v };
      return v;
    }
    case 8:
      return JSON.parse(r.pick(POLLUTING_JSON)) as unknown;
    default:
      return Array.from({ length: r.int(1000, 20_000) }, () => 0);
  }
}

/** attachmentIds as a hostile client sends them: empty, made-up ids, too many, repeats, junk. */
export function randomAttachmentIds(r: Rng): unknown {
  switch (r.int(0, 5)) {
    case 0:
      return [];
    case 1:
      return [crypto.randomUUID()];
    case 2:
      return Array.from({ length: r.int(11, 30) }, () => crypto.randomUUID());
    case 3: {
      const id = crypto.randomUUID();
      return [id, id];
    }
    case 4:
      return [r.pick(STRINGS), r.pick(NUMBERS)];
    default:
      return randomValue(r);
  }
}

// The rules, written out independently of the app's schemas: the fuzz checks the app against them.
export const isId = (v: unknown) =>
  (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= Number.MAX_SAFE_INTEGER) ||
  (typeof v === 'string' &&
    /^\d{1,16}$/.test(v) &&
    Number(v) >= 1 &&
    Number(v) <= Number.MAX_SAFE_INTEGER);
export const isBody = (v: unknown) =>
  typeof v === 'string' && v.trim().length > 0 && [...v].length <= 4000 && !v.includes('\u0000');
const isCount = (v: unknown) =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= Number.MAX_SAFE_INTEGER;
export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export interface SendSlot {
  clientId: string;
  body: string;
}

/** What a socket event's fuzzer knows: the fuzzer's own conversation, and every client id it made. */
export interface SocketFuzzState {
  r: Rng;
  mine: number;
  /** Every well-formed clientId the fuzzer made. */
  fresh: Set<string>;
  /** Sends to repeat, same id and body: retries. */
  slots: SendSlot[];
  /** Messages in the fuzzer's conversation (the test keeps it): a reaction to one is valid. */
  messageIds?: Set<number>;
  /** Those the fuzzer sent: only these may be edited or deleted. */
  ownIds?: Set<number>;
}

interface EventFuzz {
  /** A valid payload for `conversationId` (itself perhaps broken), before a field or two is broken. */
  nearlyValid(conversationId: unknown, s: SocketFuzzState): Record<string, unknown>;
  /** Whether the app must accept what the server received (o: undefined if not an object). */
  accepts(o: Record<string, unknown> | undefined, s: SocketFuzzState): boolean;
}

const REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏'];
/** Far above any id a test run makes. */
const NO_SUCH_MESSAGE = 9_000_000_000_000;

const inMine = (o: Record<string, unknown> | undefined, mine: number) => {
  const v = o?.conversationId;
  return (
    (typeof v === 'number' && v === mine) ||
    (typeof v === 'string' && /^\d{1,16}$/.test(v) && Number(v) === mine)
  );
};

/**
 * How to fuzz each client event, and which payloads it must accept. Typed over
 * every event of the protocol: a new event fails the type check until it is here.
 */
export const SOCKET_EVENT_FUZZ = {
  'message:send': {
    nearlyValid(conversationId, { r, fresh, slots }) {
      if (r.chance(0.15)) {
        const slot = r.pick(slots);
        return { conversationId, body: slot.body, clientId: slot.clientId };
      }
      const clientId = crypto.randomUUID();
      fresh.add(clientId);
      return {
        conversationId,
        body: r.chance(0.5) ? `fuzz ${r.int(0, 1e9)}` : r.chance(0.1) ? '' : randomText(r),
        clientId,
        // Files the fuzzer never uploaded (ids of nothing, or not ids at all): never linked.
        ...(r.chance(0.3) ? { attachmentIds: randomAttachmentIds(r) } : {}),
      };
    },
    accepts: (o, { mine, fresh }) =>
      inMine(o, mine) &&
      isBody(o!.body) &&
      typeof o!.clientId === 'string' &&
      fresh.has(o!.clientId) &&
      // No file of the fuzzer's is pending, so only "none" (absent or []) can pass.
      (o!.attachmentIds === undefined ||
        (Array.isArray(o!.attachmentIds) && o!.attachmentIds.length === 0)),
  },
  sync: {
    nearlyValid: (conversationId, { r }) => ({
      conversationId,
      after: r.chance(0.5) ? r.int(0, 50) : randomValue(r),
      ...(r.chance(0.3) ? { changesAfter: r.chance(0.5) ? r.int(0, 50) : randomValue(r) } : {}),
    }),
    accepts: (o, { mine }) =>
      inMine(o, mine) &&
      isCount(o!.after) &&
      (o!.changesAfter === undefined || isCount(o!.changesAfter)),
  },
  'conversation:read': {
    nearlyValid: (conversationId, { r }) => ({
      conversationId,
      messageId: r.chance(0.5) ? r.int(1, 100) : randomValue(r),
    }),
    accepts: (o, { mine }) => inMine(o, mine) && isId(o!.messageId),
  },
  typing: {
    nearlyValid: (conversationId, { r }) => ({
      conversationId,
      typing: r.chance(0.7) ? r.chance(0.5) : randomValue(r),
    }),
    accepts: (o, { mine }) => inMine(o, mine) && typeof o!.typing === 'boolean',
  },
  'inbox:sync': {
    nearlyValid: () => ({}),
    accepts: () => true, // it takes nothing, so whatever comes is ignored
  },
  // Edits and deletes aim at message ids no one has (the fuzz checks that every stored body
  // is the one sent, so it must not change any): a well-formed one is "not found", a
  // malformed one "invalid"; only a mutated id that hits one of the fuzzer's own messages
  // would be valid. Reactions aim at real messages too. The accepted paths are tested in
  // tests/features/message-changes*.test.ts.
  'message:edit': {
    nearlyValid: (conversationId, { r }) => ({
      conversationId,
      messageId: r.chance(0.6) ? NO_SUCH_MESSAGE + r.int(0, 1000) : randomValue(r),
      body: r.chance(0.5) ? `edit ${r.int(0, 1e9)}` : randomText(r),
    }),
    accepts: (o, { mine, ownIds }) =>
      inMine(o, mine) &&
      isId(o!.messageId) &&
      !!ownIds?.has(Number(o!.messageId)) &&
      isBody(o!.body),
  },
  'message:delete': {
    nearlyValid: (conversationId, { r }) => ({
      conversationId,
      messageId: r.chance(0.6) ? NO_SUCH_MESSAGE + r.int(0, 1000) : randomValue(r),
    }),
    accepts: (o, { mine, ownIds }) =>
      inMine(o, mine) && isId(o!.messageId) && !!ownIds?.has(Number(o!.messageId)),
  },
  'reaction:toggle': {
    nearlyValid: (conversationId, { r, messageIds }) => ({
      conversationId,
      messageId: r.chance(0.6)
        ? r.chance(0.5) && messageIds?.size
          ? r.pick([...messageIds])
          : NO_SUCH_MESSAGE + r.int(0, 1000)
        : randomValue(r),
      emoji: r.chance(0.6) ? r.pick(REACTIONS) : randomValue(r),
    }),
    accepts: (o, { mine, messageIds }) =>
      inMine(o, mine) &&
      isId(o!.messageId) &&
      !!messageIds?.has(Number(o!.messageId)) &&
      typeof o!.emoji === 'string' &&
      REACTIONS.includes(o!.emoji),
  },
} satisfies Record<ClientEvent, EventFuzz>;

export interface Fuzzing {
  app: TestApp;
  /** The fuzzing user, and the one they have a conversation with. */
  fz: TestUser;
  peer: TestUser;
  /** Someone the fuzzer shares nothing with. */
  stranger: TestUser;
  /** fz and peer's conversation. */
  mine: number;
  /** peer and stranger's: never the fuzzer's. */
  notMine: number;
  /** Fails if anything was added to Object.prototype or Array.prototype since the start. */
  expectNoPollution(): void;
}

/** Starts an app with three people and two conversations for a fuzz test file; fields fill in beforeAll. */
export function setUpFuzzing(): Fuzzing {
  let prototypeBefore: string[] = [];
  const f = {
    expectNoPollution() {
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(prototypeBefore);
      const probe = {} as Record<string, unknown>;
      for (const key of PROBES) expect(probe[key], key).toBeUndefined();
      expect(Object.getOwnPropertyNames(Array.prototype)).not.toContain('polluted');
    },
  } as Fuzzing;
  beforeAll(async () => {
    f.app = await startTestApp();
    f.fz = await signUp(f.app, { displayName: 'Fuzzer' });
    f.peer = await signUp(f.app, { displayName: 'Peer' });
    f.stranger = await signUp(f.app, { displayName: 'Stranger' });
    f.mine = await openDirect(f.fz, f.peer);
    f.notMine = await openDirect(f.peer, f.stranger);
    prototypeBefore = Object.getOwnPropertyNames(Object.prototype).sort();
  });
  afterAll(async () => {
    closeSockets();
    await f.app?.close();
  });
  return f;
}

/** One part of a multipart body written by hand: a field, or a file when `filename` is given. */
export interface FormPart {
  name: string;
  value: string | Buffer;
  filename?: string;
  type?: string;
}

/**
 * A multipart/form-data body as bytes, written by hand so that any value (a name with CR/LF,
 * an empty file name, a content type of junk) reaches the server as given, not as a library
 * would clean it up.
 */
export function multipartBody(boundary: string, parts: FormPart[]): Buffer {
  const out: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    if (p.type !== undefined) head += `\r\nContent-Type: ${p.type}`;
    out.push(Buffer.from(`${head}\r\n\r\n`), Buffer.from(p.value), Buffer.from('\r\n'));
  }
  out.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(out);
}

/**
 * Everything a message form can change, as one digest: the messages (text, edits, deletes,
 * change numbers, replies), their earlier versions, reactions, files and their bytes.
 */
export async function storedDigest(pool: TestApp['pool']): Promise<string> {
  const { rows } = await pool.query<{ digest: string }>(
    `SELECT md5(concat_ws('#',
       (SELECT string_agg(concat_ws('|', id, body, deleted_at, edited_at, change_seq, reply_to_id),
                          ',' ORDER BY id) FROM messages),
       (SELECT string_agg(concat_ws('|', message_id, body), ',' ORDER BY message_id, body)
          FROM message_versions),
       (SELECT string_agg(concat_ws('|', message_id, user_id, emoji), ','
                          ORDER BY message_id, user_id, emoji) FROM message_reactions),
       (SELECT string_agg(concat_ws('|', id, state, message_id, size, name), ',' ORDER BY id)
          FROM attachments),
       (SELECT count(*) FROM attachment_chunks))) AS digest`,
  );
  return rows[0]!.digest;
}
// Issue 16's forms, written out independently of the app's schemas. A form is its fields in
// order, repeats kept (a repeated name arrives as an array: never valid here).
export type FormFields = Array<[string, string]>;
const valuesOf = (fields: FormFields, name: string) =>
  fields.filter(([k]) => k === name).map(([, v]) => v);
/** One value for the name, or undefined when absent; null when repeated. */
export function single(fields: FormFields, name: string): string | undefined | null {
  const v = valuesOf(fields, name);
  return v.length > 1 ? null : v[0];
}
const storable = (v: string) => !v.includes('\u0000');
export const PUSH_KEYS = { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) };
export const PUSH_SERVICE = 'https://fcm.googleapis.com/fcm/send/';
const isEndpoint = (v: string | undefined | null): v is string =>
  typeof v === 'string' && v.length >= 1 && v.length <= 1000 && storable(v);

/** A browser's key as it sends it: base64url, padding allowed, of a plausible length. */
const isKey = (v: string | undefined | null, min: number, max: number) =>
  typeof v === 'string' && /^[A-Za-z0-9_-]+={0,2}$/.test(v) && v.length >= min && v.length <= max;

export const ISSUE_16_RULES = {
  /** "Show message text in notifications": ticked ("on") or not sent. */
  notifyText: (f: FormFields) => {
    const v = single(f, 'notifyText');
    return v === undefined || v === 'on';
  },
  /** A browser's subscription: a push service's https address, the browser's two keys. */
  subscribe: (f: FormFields) => {
    const endpoint = single(f, 'endpoint');
    const old = single(f, 'oldEndpoint');
    return (
      isEndpoint(endpoint) &&
      endpoint.startsWith(PUSH_SERVICE) &&
      isKey(single(f, 'p256dh'), 80, 100) &&
      isKey(single(f, 'auth'), 16, 32) &&
      (old === undefined || isEndpoint(old))
    );
  },
  unsubscribe: (f: FormFields) => isEndpoint(single(f, 'endpoint')),
  level: (f: FormFields) => ['all', 'mentions', 'nothing'].includes(single(f, 'level') ?? ''),
};
