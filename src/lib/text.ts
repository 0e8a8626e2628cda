import { z } from '@hono/zod-openapi'

/**
 * A name or title a client stores: kept exactly as sent (never trimmed or normalized). Only text that is nothing but
 * whitespace is refused, naming the field.
 */
export const storedName = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((text) => text.trim() !== '', 'must not be only whitespace')
