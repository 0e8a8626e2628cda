import { z } from '@hono/zod-openapi'
import { deleteApiKey, insertApiKey, listApiKeys, type ApiKeyRow } from '../../db/repositories/api-keys'
import { AppError, notFound } from '../../errors'
import { randomSecret, sha256Hex } from '../../lib/crypto'
import { decodeCursor, toPage } from '../../lib/pagination'
import { workspaceAccess } from '../../services/workspace-access'
import type { AppRouteHandler } from '../../types'
import type * as routes from './api-keys.routes'

const PREFIX_LENGTH = 11

function render(row: ApiKeyRow) {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    workspaceId: row.workspaceId,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  }
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const services = c.var.services
  const auth = c.var.auth
  const body = c.req.valid('json')
  const workspaceId = body.workspaceId ?? auth.workspaceScope
  if (workspaceId) await workspaceAccess(services, auth, workspaceId)
  const now = services.now()
  const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null
  if (expiresAt && expiresAt <= now) {
    throw new AppError('validation_failed', 'expiresAt: must be in the future', { errors: [{ path: 'expiresAt', message: 'Must be in the future' }] })
  }
  const key = `sk_${randomSecret(32)}`
  const row: ApiKeyRow = {
    id: services.newId('key'),
    userId: auth.userId,
    workspaceId,
    name: body.name,
    prefix: key.slice(0, PREFIX_LENGTH),
    keyHash: await sha256Hex(key),
    expiresAt,
    lastUsedAt: null,
    createdAt: now,
  }
  await insertApiKey(services.db, row)
  return c.json({ ...render(row), key }, 201)
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const auth = c.var.auth
  const after = decodeCursor(cursor, z.string())
  const rows = await listApiKeys(c.var.services.db, auth.userId, { after, limit, scope: auth.workspaceScope })
  return c.json(toPage(rows, limit, render, (row) => row.id), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const auth = c.var.auth
  const deleted = await deleteApiKey(c.var.services.db, auth.userId, c.req.valid('param').id, auth.workspaceScope)
  if (!deleted) throw notFound('API key')
  return c.body(null, 204)
}
