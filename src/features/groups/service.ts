// Groups: check, then write under the conversation's row lock, then tell (after commit).
// Roles as Signal, WhatsApp and Matrix's power levels teach: one owner above admins above
// members; equal ranks cannot remove each other; the owner leaving hands ownership to the
// longest-standing admin, else member. Invitations from someone who is not a friend are
// requests; a block either way makes the person "not found", so their invites never arrive.
import { z } from 'zod';
import { AppError, invalid, notFound } from '../../core/errors.js';
import { withTransaction, type Db } from '../../core/db/pool.js';
import type { AppContext } from '../../core/context.js';
import { emailSchema, parseFields, visibleName } from '../../core/validation.js';
import { isStorableText } from '../../shared/schemas.js';
import { accessConversation, NOT_A_MEMBER } from '../conversations/access.js';
import { findByEmail } from '../friends/service.js';
import type { MessageRow } from '../messages/db.js';
import { findConversationFor, listMembers } from '../conversations/db.js';
import { notifyLines, type Actor } from './tell.js';
import * as db from './db.js';
import type { Role } from './db.js';

export const TITLE_MAX = 80;

/**
 * A declined invitation cannot be sent again, by anyone, for a day: without it a person could
 * be re-invited at once, again and again. (A declined friend request waits 7 days,
 * friends/service.ts; WhatsApp's invitation to a group one cannot be added to lasts 3 days.)
 */
export const INVITE_AGAIN_AFTER_MS = 24 * 60 * 60 * 1000;
const RANK: Record<Role, number> = { member: 1, admin: 2, owner: 3 };

const titleSchema = z
  .string({ error: 'Give the group a name.' })
  .transform(visibleName)
  .pipe(z.string().trim().min(1, 'Give the group a name.'))
  .refine((s) => [...s].length <= TITLE_MAX, `Group names are at most ${TITLE_MAX} characters.`)
  .refine(isStorableText, 'The name contains a character that cannot be stored.');

const forbidden = (message: string) => new AppError(403, message, 'forbidden');

/** "Bo", "Bo and Cy", "Bo, Cy and Di"; past five, "Bo, Cy, Di and 3 others". */
export function listNames(names: string[]): string {
  if (names.length <= 1) return names.join('');
  if (names.length > 5) return `${names.slice(0, 3).join(', ')} and ${names.length - 3} others`;
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/** Emails from a text box: one per line, or separated by commas, semicolons or spaces. */
export function splitEmails(raw: unknown): string[] {
  if (typeof raw !== 'string') return [];
  const seen = new Set<string>();
  return raw
    .split(/[\s,;]+/)
    .map((e) => e.trim())
    .filter((e) => e && !seen.has(e.toLowerCase()) && seen.add(e.toLowerCase()));
}

interface Found {
  id: number;
  displayName: string;
  friends: boolean;
}

/** The people behind these emails, as the policy lets the actor see them. */
async function findPeople(
  ctx: AppContext,
  actorId: number,
  emails: string[],
  lookup: () => void,
): Promise<Found[]> {
  const people: Found[] = [];
  for (const raw of emails) {
    const parsed = emailSchema.safeParse(raw);
    if (!parsed.success) throw invalid({ members: `"${raw}" is not an email address.` });
    const found = await findByEmail(ctx, actorId, parsed.data);
    // Asking "is there an account?" costs a lookup from the shared budget; a friend's address
    // tells nothing new, so a big group of friends is not stopped by it.
    if (found.status !== 'found' || !found.rel.friends) lookup();
    if (found.status === 'self') continue;
    // A block either way, or a hidden email: the same answer as no account.
    if (found.status === 'none') throw invalid({ members: `No account uses ${parsed.data}.` });
    if (!people.some((p) => p.id === found.user.id)) {
      people.push({
        id: found.user.id,
        displayName: found.user.displayName,
        friends: found.rel.friends,
      });
    }
  }
  return people;
}

function checkRoom(ctx: AppContext, current: number, adding: number) {
  if (current + adding > ctx.groupMaxMembers) {
    throw new AppError(
      409,
      `A group has at most ${ctx.groupMaxMembers} members; this one would have ${current + adding}.`,
      'conflict',
    );
  }
}

/** "New group": the creator is the owner; friends join at once, anyone else gets a request. */
export async function createGroup(
  ctx: AppContext,
  me: Actor,
  input: unknown,
  lookup: () => void,
): Promise<number> {
  const body = (input ?? {}) as Record<string, unknown>;
  const { title } = parseFields(z.object({ title: titleSchema }), { title: body.title });
  const emails = splitEmails(body.members);
  if (emails.length >= ctx.groupMaxMembers) checkRoom(ctx, 1, emails.length);
  const people = await findPeople(ctx, me.id, emails, lookup);
  const { id, lines } = await withTransaction(ctx.db, async (tx) => {
    const id = await db.createGroup(tx, title, me.id);
    const lines = [await db.insertSystemLine(tx, id, me.id, `${me.displayName} created the group`)];
    if (people.length) {
      for (const p of people) {
        await db.addMember(tx, {
          conversationId: id,
          userId: p.id,
          state: p.friends ? 'accepted' : 'request',
          addedBy: me.id,
          historyFrom: 0,
        });
      }
      const names = listNames(people.map((p) => p.displayName));
      lines.push(await db.insertSystemLine(tx, id, me.id, `${me.displayName} added ${names}`));
    }
    return { id, lines };
  });
  notifyLines(ctx, id, lines);
  return id;
}

interface Managing {
  group: db.LockedGroup;
  me: db.MemberInfo;
}

/**
 * The manage check, under the group's lock: a current member of a group, read fresh (never
 * from the cache). Not a member, or not a group: "not found"; a former member: forbidden.
 */
async function manage(tx: Db, meId: number, conversationId: number): Promise<Managing> {
  const group = await db.lockGroup(tx, conversationId);
  const me = group && (await db.findMember(tx, conversationId, meId));
  if (!group || !me || me.state === 'declined') throw notFound('That conversation');
  if (me.historyTo !== null) throw forbidden(NOT_A_MEMBER);
  if (me.state !== 'accepted') throw forbidden('Accept the invitation first.');
  return { group, me };
}

/** A current member of this group, or "not found" (the same for an outsider's guess). */
async function target(tx: Db, conversationId: number, userId: number): Promise<db.MemberInfo> {
  const member = await db.findMember(tx, conversationId, userId);
  if (!db.isCurrent(member)) throw notFound('That member');
  return member;
}

export async function addMember(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  input: unknown,
  lookup: () => void,
): Promise<void> {
  const { email } = parseFields(z.object({ email: emailSchema }), input);
  // Not a member: not found, before anything about the email is looked up.
  await accessConversation(ctx, me, conversationId, 'manage');
  const [person] = await findPeople(ctx, me.id, [email], lookup);
  if (!person) throw new AppError(400, 'That is you: you are already in this group.', 'invalid');
  const line = await withTransaction(ctx.db, async (tx) => {
    const { group, me: mine } = await manage(tx, me.id, conversationId);
    if (mine.role === 'member' && !group.membersCanAdd) {
      throw forbidden('Only admins can add people to this group.');
    }
    checkRoom(ctx, await db.countCurrent(tx, conversationId), 1);
    // Words that say no more than a pending invitation would ("invited, not joined"): not
    // that they declined, nor when.
    if (await db.declinedWithin(tx, conversationId, person.id, INVITE_AGAIN_AFTER_MS)) {
      throw new AppError(
        409,
        `${person.displayName} was invited to this group recently and has not joined. You can invite them again later; an invite link works for them meanwhile.`,
        'conflict',
      );
    }
    const added = await db.addMember(tx, {
      conversationId,
      userId: person.id,
      state: person.friends ? 'accepted' : 'request',
      addedBy: me.id,
      historyFrom: group.lastMessageId,
    });
    if (!added)
      throw new AppError(409, `${person.displayName} is already in this group.`, 'conflict');
    return db.insertSystemLine(
      tx,
      conversationId,
      me.id,
      `${me.displayName} added ${person.displayName}`,
    );
  });
  notifyLines(ctx, conversationId, [line]);
}

/** Owners and admins remove those below them; equal ranks cannot remove each other. */
export async function removeMember(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  userId: number,
): Promise<void> {
  if (userId === me.id) return leaveGroup(ctx, me, conversationId);
  const line = await withTransaction(ctx.db, async (tx) => {
    const { me: mine } = await manage(tx, me.id, conversationId);
    const them = await target(tx, conversationId, userId);
    if (RANK[mine.role] < RANK.admin) throw forbidden('Only admins can remove people.');
    if (RANK[mine.role] <= RANK[them.role]) {
      throw forbidden(
        them.role === 'owner'
          ? 'Nobody can remove the owner of a group.'
          : 'Only the owner can remove an admin.',
      );
    }
    const line = await db.insertSystemLine(
      tx,
      conversationId,
      me.id,
      `${me.displayName} removed ${them.displayName}`,
    );
    await db.endMembership(tx, conversationId, userId, line.id);
    return line;
  });
  // They read up to the line that says so, and hear it; then nothing more.
  notifyLines(ctx, conversationId, [line], [userId]);
  ctx.notify.groupLeft(userId, { conversationId, removed: true });
}

/** Leaving; an owner who leaves hands the group to the longest-standing admin, else member. */
export async function leaveGroup(ctx: AppContext, me: Actor, conversationId: number) {
  const lines = await withTransaction(ctx.db, async (tx) => {
    const group = await db.lockGroup(tx, conversationId);
    const mine = group && (await db.findMember(tx, conversationId, me.id));
    if (!group || !mine || mine.state === 'declined') throw notFound('That conversation');
    if (mine.historyTo !== null) throw forbidden(NOT_A_MEMBER);
    const lines: MessageRow[] = [];
    if (mine.role === 'owner') {
      const heir = await db.findSuccessor(tx, conversationId, me.id);
      await db.setRole(tx, conversationId, me.id, 'member'); // one owner at a time
      if (heir) {
        await db.setRole(tx, conversationId, heir.userId, 'owner');
        lines.push(
          await db.insertSystemLine(
            tx,
            conversationId,
            me.id,
            `${heir.displayName} is now the owner`,
          ),
        );
      }
    }
    const left = await db.insertSystemLine(tx, conversationId, me.id, `${me.displayName} left`);
    lines.unshift(left);
    await db.endMembership(tx, conversationId, me.id, Math.max(...lines.map((l) => l.id)));
    return lines.sort((a, b) => a.id - b.id);
  });
  notifyLines(ctx, conversationId, lines, [me.id]);
  ctx.notify.groupLeft(me.id, { conversationId, removed: false });
}

/** Only the owner makes and revokes admins. */
export async function setAdmin(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  userId: number,
  admin: boolean,
): Promise<void> {
  const line = await withTransaction(ctx.db, async (tx) => {
    const { me: mine } = await manage(tx, me.id, conversationId);
    const them = await target(tx, conversationId, userId);
    if (mine.role !== 'owner') throw forbidden('Only the owner can make or remove admins.');
    if (them.role === 'owner') throw forbidden('The owner is above admins.');
    if (them.state !== 'accepted') throw forbidden('They have not accepted the invitation yet.');
    if ((them.role === 'admin') === admin) return undefined; // already so
    await db.setRole(tx, conversationId, userId, admin ? 'admin' : 'member');
    const words = admin
      ? `${me.displayName} made ${them.displayName} an admin`
      : `${me.displayName} removed ${them.displayName} as an admin`;
    return db.insertSystemLine(tx, conversationId, me.id, words);
  });
  if (line) notifyLines(ctx, conversationId, [line]);
}

/** The owner hands the group over; they stay on as an admin (Signal, WhatsApp do the same). */
export async function makeOwner(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  userId: number,
): Promise<void> {
  const line = await withTransaction(ctx.db, async (tx) => {
    const { me: mine } = await manage(tx, me.id, conversationId);
    const them = await target(tx, conversationId, userId);
    if (mine.role !== 'owner') throw forbidden('Only the owner can hand the group over.');
    if (them.userId === me.id) return undefined;
    if (them.state !== 'accepted') throw forbidden('They have not accepted the invitation yet.');
    await db.setRole(tx, conversationId, me.id, 'admin'); // one owner at a time
    await db.setRole(tx, conversationId, userId, 'owner');
    const words = `${me.displayName} made ${them.displayName} the owner`;
    return db.insertSystemLine(tx, conversationId, me.id, words);
  });
  if (line) notifyLines(ctx, conversationId, [line]);
}

export async function renameGroup(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  input: unknown,
): Promise<void> {
  const { title } = parseFields(z.object({ title: titleSchema }), input);
  let recipients: number[] = [];
  const line = await withTransaction(ctx.db, async (tx) => {
    const { group, me: mine } = await manage(tx, me.id, conversationId);
    if (RANK[mine.role] < RANK.admin) throw forbidden('Only admins can rename the group.');
    if (group.title === title) return undefined;
    await db.renameGroup(tx, conversationId, title);
    recipients = await db.currentMemberIds(tx, conversationId);
    return db.insertSystemLine(
      tx,
      conversationId,
      me.id,
      `${me.displayName} renamed the group to ${title}`,
    );
  });
  if (!line) return;
  notifyLines(ctx, conversationId, [line]);
  ctx.notify.groupRenamed(recipients, { conversationId, title });
}

/** Signal's "Add members": everyone, or only admins. Owner and admins decide. */
export async function setMembersCanAdd(
  ctx: AppContext,
  me: Actor,
  conversationId: number,
  input: unknown,
): Promise<void> {
  const on = ((input ?? {}) as Record<string, unknown>).membersCanAdd === 'on';
  await withTransaction(ctx.db, async (tx) => {
    const { me: mine } = await manage(tx, me.id, conversationId);
    if (RANK[mine.role] < RANK.admin) throw forbidden('Only admins can change who may add people.');
    await db.setMembersCanAdd(tx, conversationId, on);
  });
}

/** The members page: current members only (an outsider gets "not found"). */
export async function membersPage(ctx: AppContext, meId: number, conversationId: number) {
  await accessConversation(ctx, { id: meId }, conversationId, 'manage');
  const [conversation, members] = await Promise.all([
    findConversationFor(ctx.db, conversationId, meId),
    listMembers(ctx.db, conversationId),
  ]);
  if (!conversation || conversation.kind !== 'group') throw notFound('That conversation');
  const current = members
    .filter((m) => m.historyTo === null && m.state !== 'declined')
    .sort((a, b) => RANK[b.role] - RANK[a.role] || a.joinedAt.getTime() - b.joinedAt.getTime());
  const myRole = conversation.myRole;
  const isAdmin = RANK[myRole] >= RANK.admin;
  const invites = isAdmin ? await db.listLiveInvites(ctx.db, conversationId) : [];
  return {
    conversation,
    members: current,
    myRole,
    isAdmin,
    mayAdd: isAdmin || conversation.membersCanAdd,
    /** Which buttons each member row shows the viewer. */
    mayRemove: (role: Role) => RANK[myRole] >= RANK.admin && RANK[myRole] > RANK[role],
    invites,
    max: ctx.groupMaxMembers,
  };
}
