// Shared zod pieces for every boundary (forms, socket payloads).
import { z } from 'zod';
import { invalid, type FieldErrors } from './errors.js';
import { isStorableText } from '../shared/schemas.js';

// Names and passwords refuse what PostgreSQL would not store as given (see isStorableText).
const NUL_MESSAGE = 'contains a character that cannot be stored (NUL or half an emoji)';

export const emailSchema = z
  .string({ error: 'Enter an email address.' })
  .trim()
  .min(1, 'Enter an email address.')
  .max(254, 'That email address is too long.')
  .pipe(z.email({ error: 'Enter an email address like name@example.com.' }));

export const displayNameSchema = z
  .string({ error: 'Enter a display name.' })
  .trim()
  .min(1, 'Enter a display name.')
  .refine((s) => [...s].length <= 50, 'Display names are at most 50 characters.')
  .refine(isStorableText, `Display name ${NUL_MESSAGE}.`);

export const passwordSchema = z
  .string({ error: 'Enter a password.' })
  .min(8, 'Passwords need at least 8 characters.')
  .refine(
    (s) => Buffer.byteLength(s, 'utf8') <= 72,
    'Passwords are at most 72 bytes (bcrypt’s limit).',
  )
  .refine(isStorableText, `Password ${NUL_MESSAGE}.`);

/** Parses input or throws a 400 AppError whose fields name each problem. */
export function parseFields<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const fields: FieldErrors = {};
  for (const issue of result.error.issues) {
    const key = String(issue.path[0] ?? 'form');
    fields[key] ??= issue.message;
  }
  throw invalid(fields);
}
