import { z } from '@hono/zod-openapi'
import { AppError } from '../errors'
import { fromBase64Url, toBase64Url } from './encoding'

export const PageQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ description: '1..100, default 20' }),
  cursor: z.string().max(512).optional().openapi({ description: 'Opaque cursor from a previous page' }),
})

export const listOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() })

export function encodeCursor(key: unknown): string {
  return toBase64Url(new TextEncoder().encode(JSON.stringify(key)))
}

/** Decodes an opaque cursor into its key, or rejects it as a validation failure. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.infer<T> | null {
  if (cursor === undefined) return null
  try {
    return schema.parse(JSON.parse(new TextDecoder().decode(fromBase64Url(cursor))))
  } catch {
    throw new AppError('validation_failed', 'cursor: invalid cursor', { errors: [{ path: 'cursor', message: 'Invalid cursor' }] })
  }
}

/** Rows were fetched with limit + 1; the extra row only says that another page exists. */
export function toPage<Row, Item>(rows: Row[], limit: number, render: (row: Row) => Item, key: (row: Row) => unknown) {
  const visible = rows.slice(0, limit)
  const last = visible[visible.length - 1]
  return {
    data: visible.map(render),
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  }
}
