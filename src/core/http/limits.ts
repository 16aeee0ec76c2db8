// Limits on HTTP paths that a script could hammer: login, signup, email lookups.
import type { RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import { AppError } from '../errors.js';
import * as accounts from '../../features/accounts/service.js';
import type { AppContext } from '../context.js';
import { userId } from './helpers.js';

export interface HttpLimits {
  login: RequestHandler[];
  signup: RequestHandler;
}

/** The client's network address as a limiter key (an IPv6 client's whole /56 counts as one). */
export function addressOf(req: { ip?: string | undefined }): string {
  return ipKeyGenerator(req.ip ?? '');
}

/**
 * Put in front of every route that takes an email and tells whether an account uses
 * it: the shared email-lookup budget, per user and per address, or a 429 page.
 */
export function limitEmailLookups(ctx: AppContext): RequestHandler {
  return (req, res, next) => {
    ctx.limits.lookups.take({ userId: userId(res), address: addressOf(req) });
    next();
  };
}

export function makeLimits(ctx: AppContext, enabled: boolean): HttpLimits {
  const tooMany: RequestHandler = (_req, _res, next) =>
    next(
      new AppError(429, 'Too many attempts. Wait a few minutes, then try again.', 'rate_limited'),
    );
  if (!enabled) {
    const pass: RequestHandler = (_req, _res, next) => next();
    return { login: [pass], signup: pass };
  }
  return {
    login: [
      // Per address: one address trying many accounts (credential stuffing) is slowed too.
      rateLimit({
        windowMs: 15 * 60 * 1000,
        limit: 50,
        skipSuccessfulRequests: true,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        handler: tooMany,
      }),
      // Per account and address: guessing one password is slowed, the owner is back in 15
      // minutes. Keyed on the account the login would reach, found the way the login finds it,
      // so no spelling of the email (case, Unicode case folding) buys fresh tries.
      rateLimit({
        windowMs: 15 * 60 * 1000,
        limit: 5,
        skipSuccessfulRequests: true,
        standardHeaders: 'draft-8',
        legacyHeaders: false,
        keyGenerator: async (req) => {
          const body = req.body as Record<string, unknown> | undefined;
          return `${addressOf(req)}|${await accounts.loginKey(ctx, body?.email)}`;
        },
        handler: tooMany,
      }),
    ],
    signup: rateLimit({
      windowMs: 60 * 60 * 1000,
      limit: 20,
      standardHeaders: 'draft-8',
      legacyHeaders: false,
      handler: tooMany,
    }),
  };
}
