// Friends page, friend requests, blocks and the discoverable setting; the answers to a
// message request on its conversation page. Thin: parse, call the service, redirect.
import { Router, type Request } from 'express';
import type { AppContext } from '../../core/context.js';
import { requireUser, userId, flash } from '../../core/http/helpers.js';
import { limitEmailLookups } from '../../core/http/limits.js';
import { notFound } from '../../core/errors.js';
import { idSchema } from '../../shared/schemas.js';
import * as friends from './service.js';

function idParam(req: Request, what: string): number {
  const parsed = idSchema.safeParse(req.params.id);
  if (!parsed.success) throw notFound(what);
  return parsed.data;
}

const PERSON_ACTIONS = {
  accept: friends.acceptFriend,
  decline: friends.declineFriend,
  cancel: friends.cancelFriendRequest,
  remove: friends.unfriend,
  block: friends.blockUser,
  unblock: friends.unblockUser,
} as const;

export function friendRoutes(ctx: AppContext): Router {
  const r = Router();
  r.use('/friends', requireUser);

  r.get('/friends', async (_req, res) => {
    res.render('friends', await friends.friendsPage(ctx, userId(res)));
  });

  // Answers whether an account uses the email, like a search: the same budget.
  r.post('/friends/requests', limitEmailLookups(ctx), async (req, res) => {
    const done = await friends.sendFriendRequest(ctx, userId(res), req.body);
    flash(req, done === 'friends' ? 'You are now friends.' : 'Friend request sent.');
    res.redirect(303, '/friends');
  });

  r.post('/friends/:id/:action', async (req, res) => {
    const action = req.params.action as keyof typeof PERSON_ACTIONS;
    if (!Object.hasOwn(PERSON_ACTIONS, action)) throw notFound();
    await PERSON_ACTIONS[action](ctx, userId(res), idParam(req, 'That person'));
    res.redirect(303, action === 'unblock' ? '/account' : '/friends');
  });

  r.post('/conversations/:id/:answer', requireUser, async (req, res, next) => {
    const answer = req.params.answer;
    if (answer !== 'accept' && answer !== 'decline' && answer !== 'block') return next();
    const id = idParam(req, 'That conversation');
    await friends.answerConversation(ctx, userId(res), id, answer);
    res.redirect(303, answer === 'accept' ? `/conversations/${id}` : '/');
  });

  r.post('/account/discoverable', requireUser, async (req, res) => {
    await friends.setDiscoverable(ctx, userId(res), req.body);
    flash(req, 'Saved.');
    res.redirect(303, '/account');
  });

  // The Account page's "Blocked people" and discoverable checkbox, whichever route renders it.
  r.use('/account', async (_req, res, next) => {
    const user = res.locals.user as { id: number } | undefined;
    if (user) res.locals.privacy = await friends.privacyOf(ctx, user.id);
    next();
  });

  return r;
}
