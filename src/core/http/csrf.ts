// Form tokens (csrf-sync). A logged-in user's token lives in their session (the
// synchronizer pattern). A visitor has no session: a stored row for every
// anonymous GET of a form would let anyone fill the table. Their token lives in
// a cookie of its own instead, compared with the form's copy (double submit):
// another site can neither read it nor, with SameSite, send it with a forged form.
import type { Request, RequestHandler, Response } from 'express';
import { csrfSync } from 'csrf-sync';

export const VISITOR_TOKEN_COOKIE = 'chat.csrf';
const VISITOR_TOKEN_LIFETIME = 60 * 60 * 1000; // a visitor's form is good for an hour

export interface Csrf {
  /** Puts `csrfToken()` on res.locals for the views. */
  locals: RequestHandler;
  protect: RequestHandler;
  /** The same check for a handler that reads its body itself (multipart, as it streams). */
  isValid(req: Request): boolean;
}

export function createCsrf(opts: { secure: boolean }): Csrf {
  const issued = new WeakMap<Request, string>();
  const isVisitor = (req: Request) => req.session?.userId === undefined;
  const csrf = csrfSync({
    getTokenFromRequest: (req) => {
      const body = req.body as Record<string, unknown> | undefined;
      const fromBody = typeof body?._csrf === 'string' ? body._csrf : undefined;
      return fromBody ?? req.get('x-csrf-token');
    },
    getTokenFromState: (req) =>
      isVisitor(req) ? (issued.get(req) ?? visitorToken(req)) : req.session.csrfToken,
    storeTokenInState: (req, token) => {
      if (!isVisitor(req)) {
        req.session.csrfToken = token;
        return;
      }
      // A page with two forms asks twice before the browser has the cookie: one token.
      if (typeof token === 'string') issued.set(req, token);
      if (typeof token !== 'string') return clearVisitorToken(req.res!);
      req.res!.cookie(VISITOR_TOKEN_COOKIE, token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: opts.secure,
        path: '/',
        maxAge: VISITOR_TOKEN_LIFETIME,
      });
    },
    size: 32,
    errorConfig: { statusCode: 403, message: 'csrf', code: 'EBADCSRFTOKEN' },
  });
  return {
    locals: (req, res, next) => {
      res.locals.csrfToken = () => csrf.generateToken(req);
      next();
    },
    protect: csrf.csrfSynchronisedProtection,
    isValid: (req) => csrf.isRequestValid(req),
  };
}

/** The visitor's token from its cookie, if it has the right shape. */
function visitorToken(req: Request): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === VISITOR_TOKEN_COOKIE && value && /^[0-9a-f]{64}$/.test(value)) return value;
  }
  return undefined;
}

/** At login the session holds the token from then on; the visitor's cookie is done. */
export function clearVisitorToken(res: Response): void {
  res.clearCookie(VISITOR_TOKEN_COOKIE, { path: '/' });
}
