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

// Invisible formatting characters (Unicode Cf): bidi controls that make a name read
// backwards, zero-width characters that make two names look alike, tag characters that
// hide text. A zero-width joiner inside an emoji sequence (👩‍💻) is kept: it draws one emoji.
const INVISIBLE =
  /(?<![\p{Extended_Pictographic}\p{Emoji_Modifier}]\uFE0F?)\u200D|\u200D(?!\p{Extended_Pictographic})|[^\P{Cf}\u200D]/gu;

/** A display name without invisible formatting characters. */
export function visibleName(name: string): string {
  return name.replace(INVISIBLE, '');
}

export const displayNameSchema = z
  .string({ error: 'Enter a display name.' })
  .transform(visibleName)
  .pipe(z.string().trim().min(1, 'Enter a display name. Invisible characters do not count.'))
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
