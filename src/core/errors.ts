// The one user-facing error type. HTTP renders it as a page with its status;
// sockets turn it into {ok: false, error: {code, message}}. Anything else is a
// bug: a 500 with no details for the user, logged with the request id.
import type { ErrorCode } from '../shared/protocol.js';

export type FieldErrors = Record<string, string>;

export class AppError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: ErrorCode = 'bad_request',
    readonly fields?: FieldErrors,
    /** Seconds until trying again can succeed (sent as Retry-After on a 429). */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

/** "Not found" and "not yours" are the same answer. */
export function notFound(what = 'That page'): AppError {
  return new AppError(404, `${what} does not exist.`, 'not_found');
}

export function invalid(fields: FieldErrors, message = 'Please fix the marked fields.'): AppError {
  return new AppError(400, message, 'invalid', fields);
}
