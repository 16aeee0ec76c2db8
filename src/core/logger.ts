import { pino } from 'pino';

export type Logger = pino.Logger;

// Secrets never reach a log line, whatever object they ride in on.
const redact = [
  'password',
  '*.password',
  '*.currentPassword',
  '*.newPassword',
  '*.deletePassword',
  '*.passwordHash',
  '*.password_hash',
  'req.headers.cookie',
  'req.headers.authorization',
  'res.headers["set-cookie"]',
];

/** JSON lines for machines; readable lines when a person watches a terminal. */
export function createLogger(level: string, opts: { pretty?: boolean } = {}): Logger {
  return pino({
    level,
    redact: { paths: redact, censor: '[redacted]' },
    ...(opts.pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { translateTime: 'HH:MM:ss', ignore: 'pid,hostname', singleLine: true },
          },
        }
      : {}),
  });
}
