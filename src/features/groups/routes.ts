// Groups over HTTP: "New group", the member list and its forms, invite links and their join
// page. Thin: parse, call the service, redirect (or render the page again with the error).
import { Router, type Request, type Response } from 'express';
import type { AppContext } from '../../core/context.js';
import { AppError, notFound } from '../../core/errors.js';
import { flash, requireUser, userId } from '../../core/http/helpers.js';
import { addressOf, limitEmailLookups } from '../../core/http/limits.js';
import { idSchema } from '../../shared/schemas.js';
import * as groups from './service.js';
import * as invites from './invites.js';
import type { Actor } from './tell.js';

function idParam(raw: unknown, what: string): number {
  const parsed = idSchema.safeParse(raw);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

const actor = (res: Response): Actor => res.locals.user as Actor;

/** One more email looked up in the same request: the same budget as a search. */
const lookupFor = (ctx: AppContext, req: Request, res: Response) => {
  let first = true; // the route's limitEmailLookups already paid for the first
  return () => {
    if (first) return void (first = false);
    ctx.limits.lookups.take({ userId: userId(res), address: addressOf(req) });
  };
};

/** A 4xx from a form: the page again with the words; anything else goes to the error page. */
function formError(err: unknown): AppError {
  if (!(err instanceof AppError) || err.status >= 500 || err.status === 404) throw err;
  return err;
}

const PERSON_ACTIONS = {
  remove: (ctx: AppContext, me: Actor, id: number, who: number) =>
    groups.removeMember(ctx, me, id, who),
  admin: (ctx: AppContext, me: Actor, id: number, who: number) =>
    groups.setAdmin(ctx, me, id, who, true),
  unadmin: (ctx: AppContext, me: Actor, id: number, who: number) =>
    groups.setAdmin(ctx, me, id, who, false),
  owner: (ctx: AppContext, me: Actor, id: number, who: number) =>
    groups.makeOwner(ctx, me, id, who),
} as const;

export function groupRoutes(ctx: AppContext): Router {
  const r = Router();
  const lookups = limitEmailLookups(ctx);

  r.get('/groups/new', requireUser, (_req, res) => {
    res.render('group-new', { values: {}, errors: {} });
  });

  r.post('/groups', requireUser, lookups, async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    try {
      const id = await groups.createGroup(ctx, actor(res), body, lookupFor(ctx, req, res));
      res.redirect(303, `/conversations/${id}`);
    } catch (err) {
      const e = formError(err);
      res.status(e.status).render('group-new', {
        values: {
          title: typeof body.title === 'string' ? body.title : '',
          members: typeof body.members === 'string' ? body.members : '',
        },
        errors: e.fields ?? { members: e.message },
      });
    }
  });

  const membersPage = async (
    res: Response,
    id: number,
    extra: { error?: string; link?: string; status?: number } = {},
  ) => {
    const view = await groups.membersPage(ctx, userId(res), id);
    res.status(extra.status ?? 200).render('group-members', {
      ...view,
      error: extra.error,
      link: extra.link,
      expiries: Object.keys(invites.EXPIRIES),
    });
  };

  r.get('/conversations/:id/members', requireUser, async (req, res) => {
    await membersPage(res, idParam(req.params.id, 'That conversation'));
  });

  /** Runs a change from the members page; a refusal shows on that page with its status. */
  const change = (
    path: string,
    run: (req: Request, res: Response, id: number) => Promise<string | void>,
  ) =>
    r.post(path, requireUser, async (req, res) => {
      const id = idParam(req.params.id, 'That conversation');
      try {
        const to = await run(req, res, id);
        res.redirect(303, to ?? `/conversations/${id}/members`);
      } catch (err) {
        const e = formError(err);
        await membersPage(res, id, {
          error: e.fields?.email ?? e.fields?.title ?? e.message,
          status: e.status,
        });
      }
    });

  r.post('/conversations/:id/members', requireUser, lookups);
  change('/conversations/:id/members', async (req, res, id) => {
    await groups.addMember(ctx, actor(res), id, req.body, lookupFor(ctx, req, res));
    flash(req, 'Added.');
  });

  change('/conversations/:id/members/:userId/:action', async (req, res, id) => {
    const action = req.params.action as keyof typeof PERSON_ACTIONS;
    if (!Object.hasOwn(PERSON_ACTIONS, action)) throw notFound();
    const who = idParam(req.params.userId, 'That member');
    await PERSON_ACTIONS[action](ctx, actor(res), id, who);
    if (action === 'remove' && who === userId(res)) return `/conversations/${id}`;
  });

  change('/conversations/:id/rename', async (req, res, id) => {
    await groups.renameGroup(ctx, actor(res), id, req.body);
    return `/conversations/${id}`;
  });

  change('/conversations/:id/settings', async (req, res, id) => {
    await groups.setMembersCanAdd(ctx, actor(res), id, req.body);
    flash(req, 'Saved.');
  });

  change('/conversations/:id/leave', async (_req, res, id) => {
    await groups.leaveGroup(ctx, actor(res), id);
    return `/conversations/${id}`;
  });

  // The link is shown once, on this answer: only its hash is kept.
  r.post('/conversations/:id/invites', requireUser, async (req, res) => {
    const id = idParam(req.params.id, 'That conversation');
    let link: string;
    try {
      const token = await invites.createInvite(ctx, actor(res), id, req.body);
      link = `${req.protocol}://${req.get('host') ?? 'localhost'}/join/${token}`;
    } catch (err) {
      const e = formError(err);
      return membersPage(res, id, {
        error: Object.values(e.fields ?? {})[0] ?? e.message,
        status: e.status,
      });
    }
    await membersPage(res, id, { link, status: 201 });
  });

  change('/conversations/:id/invites/:inviteId/revoke', async (req, res, id) => {
    await invites.revokeInvite(ctx, actor(res), id, idParam(req.params.inviteId, 'That link'));
    flash(req, 'The link was revoked: it no longer works.');
  });

  // The join page answers whether a token opens a group: a lookup, paid from the same
  // budget (by address alone for a visitor who is not logged in).
  const limitJoin = (req: Request, res: Response, next: () => void) => {
    const user = res.locals.user as { id: number } | undefined;
    ctx.limits.lookups.take({ userId: user?.id, address: addressOf(req) });
    next();
  };

  r.get('/join/:token', limitJoin, async (req, res) => {
    const token = String(req.params.token);
    const group = await invites.previewInvite(ctx, token);
    const next = `/join/${token}`;
    res.render('join', { group, next: encodeURIComponent(next), token });
  });

  r.post('/join/:token', requireUser, limitJoin, async (req, res) => {
    const id = await invites.joinByInvite(ctx, actor(res), String(req.params.token));
    res.redirect(303, `/conversations/${id}`);
  });

  return r;
}
