import bcrypt from 'bcrypt';
import { z } from 'zod';
import { AppError, invalid } from '../../core/errors.js';
import { isUniqueViolation, withTransaction } from '../../core/db/pool.js';
import * as users from './db.js';
import { deleteSessionsOfUser } from './sessions-db.js';
import { isStorableText } from '../../shared/schemas.js';
import type { AppContext } from '../../core/context.js';
import {
  displayNameSchema,
  emailSchema,
  parseFields,
  passwordSchema,
} from '../../core/validation.js';

export type { User } from './db.js';

const signupSchema = z.object({
  email: emailSchema,
  displayName: displayNameSchema,
  password: passwordSchema,
});
const loginSchema = z.object({
  email: z.string().trim().min(1, 'Enter your email.').max(254),
  password: z.string().min(1, 'Enter your password.').max(1024),
});
const changePasswordSchema = z.object({
  currentPassword: z.string().min(1, 'Enter your current password.').max(1024),
  newPassword: passwordSchema,
});

const WRONG_LOGIN = 'Wrong email or password.';
// Compared against when the email is unknown, so both failures take the same time.
let dummyHash: Promise<string> | undefined;
function getDummyHash(cost: number) {
  dummyHash ??= bcrypt.hash('not-a-real-password', cost);
  return dummyHash;
}

export async function register(ctx: AppContext, input: unknown): Promise<users.User> {
  const data = parseFields(signupSchema, input);
  const passwordHash = await bcrypt.hash(data.password, ctx.bcryptCost);
  try {
    return await users.insertUser(ctx.db, { ...data, passwordHash });
  } catch (err) {
    if (isUniqueViolation(err, 'users_email_lower_key')) {
      throw invalid({ email: 'An account already uses that email. Log in instead?' });
    }
    throw err;
  }
}

export async function authenticate(ctx: AppContext, input: unknown): Promise<users.User> {
  const data = parseFields(loginSchema, input);
  // A NUL or a broken character cannot be in a stored email or password (and bcrypt
  // would stop reading at a NUL): such a login is simply wrong, at the usual speed.
  const storable = isStorableText(data.email) && isStorableText(data.password);
  const user = storable ? await users.findUserByEmail(ctx.db, data.email) : undefined;
  const hash = user?.passwordHash ?? (await getDummyHash(ctx.bcryptCost));
  const ok = (await bcrypt.compare(data.password, hash)) && storable;
  if (!user || !ok) throw new AppError(401, WRONG_LOGIN, 'wrong_login');
  return {
    id: user.id,
    email: user.email,
    displayName: user.displayName,
    createdAt: user.createdAt,
    lastSeenAt: user.lastSeenAt,
  };
}

/**
 * The login limiter's per-account key: the account a login with this email would reach,
 * found exactly as `authenticate` finds it, so "tİm@" and "tim@" share one budget.
 */
export async function loginKey(ctx: AppContext, rawEmail: unknown): Promise<string> {
  const email = typeof rawEmail === 'string' ? rawEmail.trim() : '';
  // What cannot be looked up cannot log in either: any stable key will do.
  if (!email || email.length > 254 || !isStorableText(email))
    return `unusable:${email.toLowerCase()}`;
  const { id, folded } = await users.findAccountKey(ctx.db, email);
  return id === null ? `email:${folded}` : `user:${id}`;
}

async function checkPassword(ctx: AppContext, userId: number, password: string, field: string) {
  const hash = await users.findPasswordHash(ctx.db, userId);
  if (!hash || !(await bcrypt.compare(password, hash))) {
    throw invalid({ [field]: 'That is not your current password.' });
  }
}

/** Changes the password and ends every other session of the user (their sockets too). */
/** A new display name, with the signup's rules (invisible characters stripped, length). */
export async function changeDisplayName(
  ctx: AppContext,
  id: number,
  input: unknown,
): Promise<void> {
  const { displayName } = parseFields(z.object({ displayName: displayNameSchema }), input);
  await users.updateDisplayName(ctx.db, id, displayName);
}

export async function changePassword(
  ctx: AppContext,
  userId: number,
  currentSid: string,
  input: unknown,
): Promise<void> {
  const data = parseFields(changePasswordSchema, input);
  await checkPassword(ctx, userId, data.currentPassword, 'currentPassword');
  const hash = await bcrypt.hash(data.newPassword, ctx.bcryptCost);
  const ended = await withTransaction(ctx.db, async (tx) => {
    await users.updatePasswordHash(tx, userId, hash);
    return deleteSessionsOfUser(tx, userId, currentSid);
  });
  ctx.notify.sessionsEnded(ended);
}

/** Deletes the account; messages stay for the others, shown as from "Deleted user". */
export async function deleteAccount(
  ctx: AppContext,
  userId: number,
  input: unknown,
): Promise<void> {
  const data = parseFields(
    z.object({ password: z.string().min(1, 'Enter your password.').max(1024) }),
    input,
  );
  await checkPassword(ctx, userId, data.password, 'password');
  await withTransaction(ctx.db, async (tx) => {
    await users.deleteUser(tx, userId);
    await deleteSessionsOfUser(tx, userId);
  });
  ctx.members.clear();
  ctx.notify.userDeleted(userId); // every socket of the user, whichever session it had
}

export async function findUser(ctx: AppContext, id: number): Promise<users.User | undefined> {
  return users.findUserById(ctx.db, id);
}
