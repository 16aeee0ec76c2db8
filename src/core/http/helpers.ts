import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';

/** Where to go after login: only a path inside this site. */
export function safeNext(value: unknown, fallback = '/'): string {
  if (typeof value !== 'string' || value.length > 2000) return fallback;
  // '/x' is fine; '//host', '/\host' and 'http://…' leave the site.
  if (!value.startsWith('/') || value.startsWith('//') || value.startsWith('/\\')) return fallback;
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f]/.test(value)) return fallback;
  return value;
}

export function requireUser(req: Request, res: Response, next: NextFunction): void {
  if (res.locals.user) return next();
  if (req.method === 'GET') {
    return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  }
  next(new AppError(401, 'Please log in first.', 'unauthenticated'));
}

export function userId(res: Response): number {
  const user = res.locals.user as { id: number } | undefined;
  if (!user) throw new AppError(401, 'Please log in first.', 'unauthenticated');
  return user.id;
}

/** Renders a form page again with what was typed (never passwords) and its errors. */
export function renderForm(
  res: Response,
  view: string,
  err: unknown,
  values: Record<string, unknown>,
): void {
  if (!(err instanceof AppError) || err.status >= 500) throw err;
  const safeValues = Object.fromEntries(
    Object.entries(values).filter(([k, v]) => !/password/i.test(k) && typeof v === 'string'),
  );
  res.status(err.status).render(view, {
    values: safeValues,
    errors: err.fields ?? {},
    formError: err.fields ? undefined : err.message,
  });
}

export function regenerateSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.regenerate((err) => (err ? reject(err as Error) : resolve())),
  );
}

export function saveSession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.save((err) => (err ? reject(err as Error) : resolve())),
  );
}

export function destroySession(req: Request): Promise<void> {
  return new Promise((resolve, reject) =>
    req.session.destroy((err) => (err ? reject(err as Error) : resolve())),
  );
}

/** A message shown once on the next page. */
export function flash(req: Request, message: string): void {
  req.session.flash = message;
}
