// Fuzzing the forms: every field of every POST route with each special value,
// then seeded random forms, all with a valid CSRF token. No 5xx, each verdict
// matches the rules, and nothing invalid is stored. The hostile values are in
// tests/fixtures/hostile.ts.
import { describe, expect, it } from 'vitest';
import request from 'supertest';
import { FORM_FIELD_NAMES, FORM_JUNK, FORM_SPECIALS, NUMBERS } from './fixtures/hostile.js';
import { openChat, post, signUp, tokenFor, uniqueEmail, type Agent } from './support/app.js';
import { prng } from './support/attack.js';
import {
  ISSUE_16_RULES,
  isBody,
  multipartBody,
  PUSH_KEYS,
  PUSH_SERVICE,
  randomText,
  SEED,
  setUpFuzzing,
  single,
  storedDigest,
  type FormFields,
  type FormPart,
} from './support/fuzz.js';
import { cookieOf, openDirect, openSocket, send } from './support/sockets.js';
import { pdf } from './support/files.js';
import { createGroup } from './support/groups.js';
import webpush from 'web-push';
import { Pusher } from '../src/features/notifications/pusher.js';

const uuid = (): string => crypto.randomUUID();
const FORMS_PER_ROUTE = 100;

describe('fuzzing the forms', () => {
  const f = setUpFuzzing();

  it(
    `every field of the 7 POST routes with 14 special values, then ${FORMS_PER_ROUTE} seeded random forms per route, with a valid CSRF token: no 5xx, verdicts match the rules, nothing invalid stored`,
    { timeout: 180_000 },
    async () => {
      const { app, fz, peer, stranger, mine, notMine } = f;
      const r = prng(SEED + 1);
      const t0 = performance.now();
      const { rows: maxRows } = await app.pool.query<{ max: number }>(
        'SELECT coalesce(max(id), 0)::int AS max FROM messages',
      );
      const lastBefore = maxRows[0]!.max;
      let password = fz.password;
      const fuzzAgent = request.agent(app.baseUrl);
      const logIn = async () => {
        const res = await post(fuzzAgent, '/login', { email: fz.email, password });
        expect(res.status).toBe(303);
        return tokenFor(fuzzAgent, '/account');
      };
      let fzToken = await logIn();
      let visitor: Agent = request.agent(app.baseUrl);
      let visitorToken = await tokenFor(visitor, '/login');
      const fresh = new Set<string>();
      const validBodies: string[] = [];
      let signups = 0;
      const problems: string[] = [];
      const statuses: Record<string, Record<number, number>> = {};
      const paths: Array<[string, boolean]> = [
        [String(mine), true],
        [`0${mine}`, true],
        [String(notMine), false],
        ['987654321', false],
        ['abc', false],
        ['-1', false],
        ['0', false],
        ['1.5', false],
        ['1e3', false],
        ['%2e%2e', false],
        [`${mine}%00`, false],
        ['99999999999999999999', false],
        ['%D9%A1', false],
      ];
      const routes = [
        { path: '/signup', names: ['email', 'displayName', 'password'] },
        { path: '/login', names: ['email', 'password', 'next'] },
        { path: '/logout', names: [] as string[] },
        { path: '/account/password', names: ['currentPassword', 'newPassword'] },
        { path: '/account/delete', names: ['deletePassword'] },
        { path: '/conversations', names: ['email', 'userId'] },
        { path: '/conversations/:id/messages', names: ['body', 'clientId'] },
      ];

      // First, systematically: every field of every route gets each special value once.
      type Case = {
        route: (typeof routes)[number];
        fields: Array<[string, string]>;
        pick?: [string, boolean];
      };
      const systematic: Case[] = [];
      for (const route of routes) {
        for (const name of route.names.length ? route.names : ['x']) {
          for (const special of FORM_SPECIALS) {
            const n = systematic.length;
            const base: Record<string, Record<string, string>> = {
              '/signup': {
                email: uniqueEmail('sys'),
                displayName: `Sys ${n}`,
                password: `system password ${n}`,
              },
              '/login': { email: fz.email, password: 'not the password', next: '/account' },
              '/logout': {},
              '/account/password': {
                currentPassword: 'not the password',
                newPassword: `new password ${n}`,
              },
              '/account/delete': { deletePassword: 'not the password' },
              '/conversations': { email: peer.email },
              '/conversations/:id/messages': { body: `sys ${n}`, clientId: uuid() },
            };
            const baseId = base[route.path]!.clientId;
            if (baseId) fresh.add(baseId);
            const form = { ...base[route.path], [name]: special };
            systematic.push({
              route,
              fields: Object.entries(form),
              pick: route.path === '/conversations/:id/messages' ? paths[0] : undefined,
            });
          }
        }
      }
      const total = systematic.length + FORMS_PER_ROUTE * routes.length;

      for (let i = 0; i < total; i++) {
        const isRandom = i >= systematic.length;
        const route = isRandom ? routes[i % routes.length]! : systematic[i]!.route;
        const fields: Array<[string, string]> = isRandom ? [] : systematic[i]!.fields;
        let pick = isRandom ? undefined : systematic[i]!.pick;
        const add = (name: string, value: string) => fields.push([name, value]);
        let path = route.path;
        let sendValid: boolean | undefined;
        // Then at random: mostly near-valid forms, some pure noise.
        if (!isRandom) {
          // fields are set
        } else if (route.path === '/signup' && r.chance(0.1)) {
          add('email', uniqueEmail('fuzz'));
          add('displayName', `Fuzz ${i}`);
          add('password', `fuzz password ${i}`);
        } else if (route.path === '/account/password' && r.chance(0.15)) {
          add('currentPassword', password);
          add('newPassword', r.chance(0.5) ? `new password ${i}` : randomText(r, 12));
        } else if (route.path === '/conversations') {
          add(
            'email',
            r.chance(0.3)
              ? peer.email
              : r.chance(0.5)
                ? String(r.pick<unknown>([...NUMBERS, fz.id, stranger.id, stranger.email]))
                : randomText(r, 8),
          );
        } else {
          for (let n = r.int(0, 5); n > 0; n--) {
            const name =
              route.names.length && r.chance(0.75)
                ? r.pick(route.names)
                : r.pick(
                    FORM_FIELD_NAMES.filter(
                      (x) =>
                        !['body', 'clientId'].includes(x) ||
                        route.path !== '/conversations/:id/messages',
                    ),
                  );
            let value = randomText(r);
            if (name === 'clientId' && r.chance(0.6)) {
              value = uuid();
              fresh.add(value);
            }
            add(name, value);
          }
        }
        if (route.path === '/conversations/:id/messages') {
          if (!pick) {
            pick = r.chance(0.5) ? paths[r.int(0, 1)]! : r.pick(paths);
            // Near-valid more often than not: one body, perhaps a client id.
            if (r.chance(0.7) && !fields.some(([k]) => k === 'body')) {
              fields.push(['body', r.chance(0.5) ? `form fuzz ${i}` : randomText(r)]);
            }
          }
          const [id, isMine] = pick;
          path = `/conversations/${id}/messages`;
          const bodies = fields.filter(([k]) => k === 'body');
          const ids = fields.filter(([k]) => k === 'clientId');
          sendValid =
            isMine &&
            bodies.length === 1 &&
            isBody(bodies[0]![1]) &&
            !(ids.length === 1 && ids[0]![1] !== '' && !fresh.has(ids[0]![1]));
        }
        const parts = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
        if (isRandom && r.chance(0.15)) parts.splice(r.int(0, parts.length), 0, r.pick(FORM_JUNK));
        const tooMany = isRandom && r.chance(0.03);
        if (tooMany) for (let n = 0; n < 60; n++) parts.push(`f${n}=1`);
        const useVisitor = route.path === '/signup' || route.path === '/login';
        parts.push(`_csrf=${useVisitor ? visitorToken : fzToken}`);
        const raw = parts.join('&');
        const tooLarge = Buffer.byteLength(raw) > 64 * 1024;
        const agent = useVisitor ? visitor : fuzzAgent;
        const res = await agent.post(path).type('form').send(raw);
        const label = `#${i} POST ${path} ${raw.slice(0, 160)}`;
        (statuses[route.path] ??= {})[res.status] = (statuses[route.path]?.[res.status] ?? 0) + 1;

        if (res.status >= 500) problems.push(`${label}: ${res.status}`);
        if (res.status === 403) problems.push(`${label}: 403 with a valid token`);
        if ((tooMany || tooLarge) !== (res.status === 413))
          problems.push(`${label}: ${res.status}, expected 413: ${tooMany || tooLarge}`);
        if (sendValid !== undefined && !tooMany && !tooLarge) {
          if (sendValid !== (res.status === 303))
            problems.push(
              `${label}: ${res.status} but the rules say ${sendValid ? 'valid' : 'invalid'} (${/id="composer-error">([^<]*)/.exec(res.text)?.[1] ?? ''})`,
            );
          if (sendValid && res.status === 303)
            validBodies.push(fields.find(([k]) => k === 'body')![1]);
        }
        // Keep both sessions usable after forms that end or change them.
        if (res.status === 303 && useVisitor) {
          if (route.path === '/signup') signups++;
          visitor = request.agent(app.baseUrl);
          visitorToken = await tokenFor(visitor, '/login');
        }
        if (res.status === 303 && route.path === '/account/password')
          password = fields.find(([k]) => k === 'newPassword')![1];
        if (res.status === 303 && route.path === '/account/delete')
          problems.push(`${label}: the account was deleted`);
        if (route.path === '/logout' && res.status === 303) fzToken = await logIn();
      }
      const seconds = (performance.now() - t0) / 1000;

      expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
      // Nothing invalid was stored: the messages made meanwhile are exactly the valid ones, in order.
      const { rows } = await app.pool.query<{
        body: string;
        conversation_id: number;
        sender_id: number;
      }>('SELECT body, conversation_id, sender_id FROM messages WHERE id > $1 ORDER BY id', [
        lastBefore,
      ]);
      expect(rows.map((row) => row.body)).toEqual(validBodies);
      expect(rows.every((row) => row.conversation_id === mine && row.sender_id === fz.id)).toBe(
        true,
      );
      // Every account is well formed, and only valid signups made new ones.
      const users = await app.pool.query<{ email: string; display_name: string }>(
        'SELECT email, display_name FROM users',
      );
      for (const u of users.rows) {
        expect(u.email).toMatch(/^[^\s@]+@[^\s@]+\.[^\s@]+$/);
        expect(u.display_name.trim()).toBe(u.display_name);
        expect([...u.display_name].length).toBeGreaterThan(0);
        expect([...u.display_name].length).toBeLessThanOrEqual(50);
      }
      // Every conversation is a direct one between two existing people, keyed by them.
      const convs = await app.pool.query<{ id: number; direct_key: string; members: number[] }>(
        `SELECT c.id, c.direct_key, array_agg(m.user_id ORDER BY m.user_id) AS members
       FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id GROUP BY c.id`,
      );
      for (const c of convs.rows) expect(c.direct_key).toBe(c.members.join(':'));
      expect((await fuzzAgent.get('/account')).status).toBe(200);
      f.expectNoPollution();
      console.info(
        `form fuzz seed ${SEED + 1}: ${systematic.length} systematic + ${FORMS_PER_ROUTE * routes.length} random forms in ${seconds.toFixed(1)} s, ${validBodies.length} valid messages, ${signups} signups`,
        statuses,
      );
      // Last, so the checks above run too: every form whose answer broke a rule (seeded: replayable).
      expect(problems.slice(0, 20)).toEqual([]);
    },
  );

  it(
    `every field of the rich-message POST routes (edit, delete, react, reply, upload, the composer with files, their path ids too) with each of the ${FORM_SPECIALS.length} special values: no 5xx, a refusal changes nothing stored, only a valid form changes anything`,
    { timeout: 180_000 },
    async () => {
      const { app } = f;
      const me = await signUp(app, { displayName: 'Rich fuzzer' });
      const peer = await signUp(app, { displayName: 'Rich peer' });
      const third = await signUp(app, { displayName: 'Rich third' });
      const chat = await openDirect(me, peer);
      const elsewhere = await openDirect(peer, third);
      const mine = await openSocket(app.baseUrl, await cookieOf(me.agent));
      const theirs = await openSocket(app.baseUrl, await cookieOf(peer.agent));
      const toEdit = (await send(mine, chat, 'edit me')).id;
      const toDelete = (await send(mine, chat, 'delete me')).id;
      const peerSaid = (await send(theirs, chat, 'peer says')).id;
      await send(theirs, elsewhere, 'not for the fuzzer');
      const token = await tokenFor(me.agent, `/conversations/${chat}`);

      const fresh = new Set<string>();
      const newId = () => {
        const id = uuid();
        fresh.add(id);
        return id;
      };
      // The rules, written out here: which values a valid form has.
      const idIs = (v: string, want: number) => /^\d{1,16}$/.test(v) && Number(v) === want;
      const clientIdOk = (v: string) => v === '' || fresh.has(v);
      const replyOk = (v: string) => v === '' || idIs(v, peerSaid) || idIs(v, toEdit);
      // A CR/LF in a part's header ends the header there: what busboy makes of the rest is its
      // own business; only "no 5xx, and a refusal changes nothing" is asked of those.
      const breaksHeader = (v: string) => /[\r\n"]/.test(v);
      // A NUL in a part's header is no header a browser writes: the form cannot be read.
      const hasNul = (v: string) => v.includes('\u0000');
      const EMOJI = ['👍', '❤️', '😂', '😮', '😢', '🙏'];

      type Form =
        { kind: 'form'; fields: Record<string, string> } | { kind: 'multipart'; parts: FormPart[] };
      interface Case {
        label: string;
        path: string;
        form: Form;
        /** true: must succeed; false: must be refused (4xx, nothing changed); undefined: either. */
        valid: boolean | undefined;
        upload?: boolean;
      }
      const cases: Case[] = [];
      const seg = (v: string) => encodeURIComponent(v);
      const changePath = (c: string, m: string, action: string) =>
        `/conversations/${c}/messages/${m}/${action}`;

      for (const special of FORM_SPECIALS) {
        const at = (name: string) => `${name}=${JSON.stringify(special).slice(0, 40)}`;
        // Edit one's own message.
        cases.push({
          label: `edit ${at('body')}`,
          path: changePath(String(chat), String(toEdit), 'edit'),
          form: { kind: 'form', fields: { body: special } },
          valid: isBody(special),
        });
        // Delete (no fields of its own: a stray one), react, on the right message.
        cases.push({
          label: `delete ${at('x')}`,
          path: changePath(String(chat), String(toDelete), 'delete'),
          form: { kind: 'form', fields: { x: special } },
          valid: true,
        });
        cases.push({
          label: `react ${at('emoji')}`,
          path: changePath(String(chat), String(peerSaid), 'reactions'),
          form: { kind: 'form', fields: { emoji: special } },
          valid: EMOJI.includes(special),
        });
        // Every path id of the three, one at a time.
        for (const [action, target, fields] of [
          ['edit', toEdit, { body: 'edited by a path' }],
          ['delete', toDelete, {}],
          ['reactions', peerSaid, { emoji: '👍' }],
        ] as const) {
          cases.push({
            label: `${action} path id=${JSON.stringify(special).slice(0, 30)}`,
            path: changePath(seg(special), String(target), action),
            form: { kind: 'form', fields: { ...fields } },
            valid: false,
          });
          cases.push({
            label: `${action} path messageId=${JSON.stringify(special).slice(0, 30)}`,
            path: changePath(String(chat), seg(special), action),
            form: { kind: 'form', fields: { ...fields } },
            valid: false,
          });
        }
        // A reply by the form without JavaScript.
        for (const name of ['body', 'clientId', 'replyTo'] as const) {
          const fields = { body: 'a reply', clientId: newId(), replyTo: String(peerSaid) };
          fields[name] = special;
          cases.push({
            label: `reply ${at(name)}`,
            path: `/conversations/${chat}/messages`,
            form: { kind: 'form', fields },
            valid: isBody(fields.body) && clientIdOk(fields.clientId) && replyOk(fields.replyTo),
          });
        }
        cases.push({
          label: `reply path id=${JSON.stringify(special).slice(0, 30)}`,
          path: `/conversations/${seg(special)}/messages`,
          form: {
            kind: 'form',
            fields: { body: 'a reply', clientId: newId(), replyTo: String(peerSaid) },
          },
          valid: false,
        });
        // The script's upload: one file, the token in a header.
        for (const name of ['filename', 'type', 'data', 'x'] as const) {
          const file = {
            filename: 'notes.pdf',
            type: 'application/pdf',
            data: pdf(2000) as string | Buffer,
          };
          if (name === 'data') file.data = special;
          else if (name !== 'x') file[name] = special;
          const parts: FormPart[] = [
            ...(name === 'x' ? [{ name: 'x', value: special }] : []),
            { name: 'file', value: file.data, filename: file.filename, type: file.type },
          ];
          cases.push({
            label: `upload ${at(name)}`,
            path: `/conversations/${chat}/attachments`,
            form: { kind: 'multipart', parts },
            valid:
              breaksHeader(file.filename) || breaksHeader(file.type)
                ? undefined
                : !hasNul(file.filename + file.type) &&
                  file.filename !== '' &&
                  file.data.length > 0,
            upload: true,
          });
        }
        cases.push({
          label: `upload path id=${JSON.stringify(special).slice(0, 30)}`,
          path: `/conversations/${seg(special)}/attachments`,
          form: {
            kind: 'multipart',
            parts: [{ name: 'file', value: pdf(2000), filename: 'a.pdf', type: 'application/pdf' }],
          },
          valid: false,
          upload: true,
        });
        // The composer without JavaScript: a caption, a reply, one file, multipart.
        for (const name of ['body', 'clientId', 'replyTo', 'filename', 'type', 'data'] as const) {
          const v = {
            body: 'with a file',
            clientId: newId(),
            replyTo: String(peerSaid),
            filename: 'notes.pdf',
            type: 'application/pdf',
            data: pdf(2000) as string | Buffer,
          };
          if (name === 'data') v.data = special;
          else v[name] = special;
          const hasFile = v.filename !== '';
          const bodyOk = hasFile ? !v.body.trim() || isBody(v.body) : isBody(v.body);
          cases.push({
            label: `composer ${at(name)}`,
            path: `/conversations/${chat}/messages`,
            form: {
              kind: 'multipart',
              parts: [
                { name: '_csrf', value: token },
                { name: 'body', value: v.body },
                { name: 'clientId', value: v.clientId },
                { name: 'replyTo', value: v.replyTo },
                { name: 'files', value: v.data, filename: v.filename, type: v.type },
              ],
            },
            valid:
              breaksHeader(v.filename) || breaksHeader(v.type)
                ? undefined
                : !hasNul(v.filename + v.type) &&
                  bodyOk &&
                  clientIdOk(v.clientId) &&
                  replyOk(v.replyTo) &&
                  (!hasFile || v.data.length > 0),
          });
        }
        cases.push({
          label: `composer path id=${JSON.stringify(special).slice(0, 30)}`,
          path: `/conversations/${seg(special)}/messages`,
          form: {
            kind: 'multipart',
            parts: [
              { name: '_csrf', value: token },
              { name: 'body', value: 'with a file' },
              { name: 'clientId', value: newId() },
              { name: 'files', value: pdf(2000), filename: 'a.pdf', type: 'application/pdf' },
            ],
          },
          valid: false,
        });
      }

      const problems: string[] = [];
      const statuses: Record<string, number> = {};
      let before = await storedDigest(app.pool);
      for (const c of cases) {
        let req = me.agent.post(c.path);
        if (c.form.kind === 'form') {
          const parts = Object.entries(c.form.fields).map(
            ([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`,
          );
          req = req.type('form').send([...parts, `_csrf=${token}`].join('&'));
        } else {
          const boundary = `fuzz-${uuid()}`;
          req = req
            .set('content-type', `multipart/form-data; boundary=${boundary}`)
            .set('accept', c.upload ? 'application/json' : 'text/html')
            .send(multipartBody(boundary, c.form.parts));
        }
        if (c.upload) req = req.set('x-csrf-token', token);
        const res = await req;
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        const after = await storedDigest(app.pool);
        const ok = res.status >= 200 && res.status < 400;
        const label = `${c.label} → ${res.status}`;
        if (res.status >= 500) problems.push(`${label}: a server error`);
        else if (!ok && after !== before)
          problems.push(`${label}: refused, but something stored changed`);
        else if (c.valid === true && !ok)
          problems.push(`${label}: valid by the rules, but refused`);
        else if (c.valid === false && ok)
          problems.push(`${label}: invalid by the rules, but accepted`);
        // A stored upload is pending: take it back out, as the composer's script would.
        const stored = (res.body as { attachment?: { id: string } } | undefined)?.attachment;
        if (ok && c.upload && stored) {
          const gone = await me.agent
            .delete(`/attachments/${stored.id}`)
            .set('x-csrf-token', token);
          expect(gone.status).toBe(200);
        }
        // Only taking an upload back out changed anything since `after`.
        before = ok && c.upload && stored ? await storedDigest(app.pool) : after;
      }
      expect((await request(app.baseUrl).get('/healthz')).status).toBe(200);
      // The other conversation was never touched, and no file of the fuzzer's is left pending.
      const { rows } = await app.pool.query<{ n: number }>(
        `SELECT (SELECT count(*) FROM messages WHERE conversation_id = $1)::int
              + (SELECT count(*) FROM attachments WHERE message_id IS NULL AND uploader_id = $2)::int AS n`,
        [elsewhere, me.id],
      );
      expect(rows[0]!.n).toBe(1);
      f.expectNoPollution();
      console.info(`rich-message form fuzz: ${cases.length} forms`, statuses);
      expect(problems.slice(0, 30)).toEqual([]);
    },
  );

  it(
    "issue 16's POST routes (notification settings, push subscriptions, mute, levels, export): every field with each special value, then seeded random forms: no 5xx, verdicts match the rules, nothing else stored",
    { timeout: 180_000 },
    async () => {
      const { app, peer, stranger, notMine } = f;
      const r = prng(SEED + 16);
      // Web Push on (keys of its own), so a valid subscription is stored.
      app.ctx.push = new Pusher(app.pool, app.ctx.notify, app.ctx.logger, {
        vapid: { ...webpush.generateVAPIDKeys(), subject: 'mailto:fuzz@example.com' },
      });
      const me = await signUp(app, { displayName: 'Fuzz Sixteen' });
      const direct = await openChat(me, peer);
      const group = await createGroup(me, 'Fuzz group', [peer]);
      const theirGroup = await createGroup(peer, 'Not mine', [stranger]);
      const others = async () =>
        (
          await app.pool.query<Record<string, string>>(
            `SELECT 'member' AS t, conversation_id::text AS a, user_id::text AS b, muted::text AS c, coalesce(notify_level, '') AS d
             FROM conversation_members WHERE user_id <> $1
             UNION ALL SELECT 'push', user_id::text, endpoint, p256dh, auth FROM push_subscriptions WHERE user_id <> $1
             UNION ALL SELECT 'user', id::text, notify_text::text, '', '' FROM users WHERE id <> $1
             ORDER BY 1, 2, 3`,
            [me.id],
          )
        ).rows;
      const othersBefore = await others();
      const token = await tokenFor(me.agent, '/account');
      // What the rules say is stored, kept as the forms go.
      const model = {
        notifyText: true,
        muted: new Map<number, boolean>([
          [direct, false],
          [group, false],
        ]),
        level: null as string | null,
        subs: new Map<string, true>(), // oldest first, at most 10
      };
      const idPaths = (id: number): Array<[string, number | null]> => [
        [String(id), id],
        [`0${id}`, id],
        [String(notMine), null],
        [String(theirGroup), null],
        ['987654321', null],
        ['abc', null],
        ['-1', null],
        ['0', null],
        ['1.5', null],
        ['%2e%2e', null],
        [`${id}%00`, null],
        ['99999999999999999999', null],
      ];
      type Route = {
        path: string;
        names: string[];
        base: (n: number) => Record<string, string>;
        ids?: number[];
        valid: (fields: FormFields, id: number | null | undefined) => boolean;
        apply?: (fields: FormFields, id: number | null | undefined) => void;
      };
      const routes: Route[] = [
        {
          path: '/account/notifications',
          names: ['notifyText'],
          base: () => ({ notifyText: 'on' }),
          valid: (fl) => ISSUE_16_RULES.notifyText(fl),
          apply: (fl) => (model.notifyText = single(fl, 'notifyText') === 'on'),
        },
        {
          path: '/push/subscriptions',
          names: ['endpoint', 'p256dh', 'auth', 'oldEndpoint'],
          base: (n) => ({
            endpoint: `${PUSH_SERVICE}fuzz-${n % 14}`,
            ...PUSH_KEYS,
            oldEndpoint: `${PUSH_SERVICE}fuzz-${(n + 5) % 14}`,
          }),
          valid: (fl) => ISSUE_16_RULES.subscribe(fl),
          apply: (fl) => {
            const endpoint = single(fl, 'endpoint')!;
            const old = single(fl, 'oldEndpoint');
            model.subs.delete(endpoint);
            model.subs.set(endpoint, true);
            if (old && old !== endpoint) model.subs.delete(old);
            while (model.subs.size > 10) model.subs.delete(model.subs.keys().next().value!);
          },
        },
        {
          path: '/push/subscriptions/delete',
          names: ['endpoint'],
          base: (n) => ({ endpoint: `${PUSH_SERVICE}fuzz-${n % 20}` }),
          valid: (fl) => ISSUE_16_RULES.unsubscribe(fl),
          apply: (fl) => model.subs.delete(single(fl, 'endpoint')!),
        },
        ...(['mute', 'unmute'] as const).map((action): Route => ({
          path: `/conversations/:id/${action}`,
          names: [],
          base: () => ({}),
          ids: [direct, group],
          valid: (_fl, id) => !!id,
          apply: (_fl, id) => model.muted.set(id!, action === 'mute'),
        })),
        {
          path: '/conversations/:id/notify-level',
          names: ['level'],
          base: (n) => ({ level: ['all', 'mentions', 'nothing'][n % 3]! }),
          ids: [group],
          valid: (fl, id) => !!id && ISSUE_16_RULES.level(fl),
          apply: (fl) => (model.level = single(fl, 'level')!),
        },
        { path: '/account/export', names: [], base: () => ({}), valid: () => true },
      ];

      const problems: string[] = [];
      const statuses: Record<string, Record<number, number>> = {};
      let n = 0;
      const send = async (route: Route, fields: FormFields, pick?: [string, number | null]) => {
        n++;
        const path = pick ? route.path.replace(':id', pick[0]) : route.path;
        const id = pick ? pick[1] : undefined;
        const parts = fields.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
        if (r.chance(0.1)) parts.splice(r.int(0, parts.length), 0, r.pick(FORM_JUNK));
        parts.push(`_csrf=${token}`);
        const raw = parts.join('&');
        const res = await me.agent.post(path).type('form').send(raw);
        const label = `#${n} POST ${path} ${raw.slice(0, 160)}`;
        (statuses[route.path] ??= {})[res.status] = (statuses[route.path]?.[res.status] ?? 0) + 1;
        const tooLarge = Buffer.byteLength(raw) > 64 * 1024;
        const valid = !tooLarge && route.valid(fields, id);
        if (res.status >= 500) problems.push(`${label}: ${res.status}`);
        else if (tooLarge !== (res.status === 413))
          problems.push(`${label}: ${res.status}, 413 expected: ${tooLarge}`);
        else if (valid !== res.status < 400)
          problems.push(
            `${label}: ${res.status}, but the rules say ${valid ? 'valid' : 'invalid'}`,
          );
        if (valid && res.status < 400) route.apply?.(fields, id);
      };

      // Every field of every route with each special value (routes without fields: a stray one).
      for (const route of routes) {
        for (const name of route.names.length ? route.names : ['x']) {
          for (const special of FORM_SPECIALS) {
            const fields = Object.entries({ ...route.base(n), [name]: special });
            const ids = route.ids;
            await send(route, fields, ids ? idPaths(ids[n % ids.length]!)[0] : undefined);
          }
        }
        // The path's id, for routes that name a conversation.
        for (const id of route.ids ?? [])
          for (const pick of idPaths(id)) await send(route, Object.entries(route.base(n)), pick);
      }
      const systematic = n;
      // Then at random: near-valid forms (base values, a field broken or dropped), some noise.
      for (let i = 0; i < 40 * routes.length; i++) {
        const route = routes[i % routes.length]!;
        const fields: FormFields = Object.entries(route.base(i)).filter(() => r.chance(0.8));
        for (let k = r.int(0, 2); k > 0; k--) {
          const name =
            route.names.length && r.chance(0.75) ? r.pick(route.names) : r.pick(FORM_FIELD_NAMES);
          const at = fields.findIndex(([x]) => x === name);
          const value = r.chance(0.3) ? r.pick(FORM_SPECIALS) : randomText(r);
          if (at >= 0 && r.chance(0.7)) fields[at] = [name, value];
          else fields.push([name, value]);
        }
        const pick = route.ids
          ? r.chance(0.5)
            ? idPaths(r.pick(route.ids))[0]
            : r.pick(idPaths(r.pick(route.ids)))
          : undefined;
        await send(route, fields, pick);
      }

      // Stored: exactly what the valid forms said, and nothing of anyone else's.
      const mine = await app.pool.query<{
        conversation_id: number;
        muted: boolean;
        notify_level: string | null;
      }>(
        'SELECT conversation_id, muted, notify_level FROM conversation_members WHERE user_id = $1',
        [me.id],
      );
      for (const row of mine.rows)
        expect(row.muted, `muted in ${row.conversation_id}`).toBe(
          model.muted.get(row.conversation_id),
        );
      expect(mine.rows.find((x) => x.conversation_id === group)!.notify_level).toBe(model.level);
      expect(mine.rows.find((x) => x.conversation_id === direct)!.notify_level).toBeNull();
      const text = await app.pool.query<{ notify_text: boolean }>(
        'SELECT notify_text FROM users WHERE id = $1',
        [me.id],
      );
      expect(text.rows[0]!.notify_text).toBe(model.notifyText);
      const subs = await app.pool.query<{ endpoint: string }>(
        'SELECT endpoint FROM push_subscriptions WHERE user_id = $1 ORDER BY endpoint',
        [me.id],
      );
      expect(subs.rows.map((x) => x.endpoint)).toEqual([...model.subs.keys()].sort());
      expect(await others()).toEqual(othersBefore);
      expect((await me.agent.get('/account')).status).toBe(200);
      f.expectNoPollution();
      console.info(
        `issue 16 form fuzz seed ${SEED + 16}: ${systematic} systematic + ${n - systematic} random forms`,
        statuses,
      );
      expect(problems.slice(0, 20)).toEqual([]);
    },
  );
});
