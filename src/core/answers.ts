// Errors into answers, in one place: one table decides status, code and words;
// HTTP renders the answer as a page or JSON, sockets as {ok: false, error}.
import { AppError } from './errors.js';
import { isConnectionError } from './db/pool.js';
import type { ErrorCode, ErrorDto } from '../shared/protocol.js';

export const DATABASE_UNAVAILABLE =
  'The database is not answering just now. Please try again in a moment.';
const INTERNAL = 'Something went wrong on our side. Please try again.';

export interface Answer {
  status: number;
  code: ErrorCode;
  message: string;
  /** How loudly to log it: a 4xx is the user's business, a 503 a warning, a 500 a bug. */
  log: 'none' | 'warn' | 'error';
}

export function answerFor(err: unknown): Answer {
  const e = err as { status?: unknown; code?: unknown; type?: unknown } | undefined;
  if (err instanceof AppError) {
    const log = err.code === 'unavailable' ? 'warn' : err.status >= 500 ? 'error' : 'none';
    return { status: err.status, code: err.code, message: err.message, log };
  }
  if (isConnectionError(err)) {
    return { status: 503, code: 'unavailable', message: DATABASE_UNAVAILABLE, log: 'warn' };
  }
  if (e?.code === 'EBADCSRFTOKEN') {
    const message = 'This form has expired. Go back, reload the page and try again.';
    return { status: 403, code: 'csrf', message, log: 'none' };
  }
  if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
    // body-parser and friends: too large, malformed, unsupported.
    const message =
      e.type === 'entity.too.large'
        ? 'That was too large to send.'
        : 'The request could not be understood.';
    return { status: e.status, code: 'bad_request', message, log: 'none' };
  }
  return { status: 500, code: 'internal', message: INTERNAL, log: 'error' };
}

/** The socket's form: a field's own words when there is one ("Write a message first"). */
export function socketError(err: unknown): ErrorDto {
  const answer = answerFor(err);
  const field = err instanceof AppError && err.fields && Object.values(err.fields)[0];
  return { code: answer.code, message: field || answer.message };
}
