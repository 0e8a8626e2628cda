import { z } from '@hono/zod-openapi'
import type { ApiKeyRow } from '../../db/repositories/api-keys'
import { decodeCursor, toPage } from '../../lib/pagination'
import { createApiKey, listUserApiKeys, revokeApiKey } from '../../services/api-keys'
import type { AppRouteHandler } from '../../types'
import type * as routes from './api-keys.routes'

function render(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    workspaceId: row.workspaceId,
    scopes: row.scopes,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  }
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { row, key } = await createApiKey(c.var.services, c.var.auth, c.req.valid('json'))
  return c.json({ ...render(row), key }, 201)
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const rows = await listUserApiKeys(c.var.services, c.var.auth, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, render, (row) => row.id), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await revokeApiKey(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.body(null, 204)
}
