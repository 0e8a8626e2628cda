import { z } from '@hono/zod-openapi'
import type { McpServerRow } from '../../db/repositories/mcp-servers'
import { decodeCursor, toPage } from '../../lib/pagination'
import * as servers from '../../services/mcp-servers'
import type { AppRouteHandler } from '../../types'
import type * as routes from './mcp-servers.routes'

export function renderMcpServer(row: McpServerRow) {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    url: row.url,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const row = await servers.createMcpServer(c.var.services, c.var.auth, c.req.valid('param').id, c.req.valid('json'))
  return c.json(renderMcpServer(row), 201)
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const rows = await servers.listMcpServers(c.var.services, c.var.auth, c.req.valid('param').id, { after: decodeCursor(cursor, z.string()), limit })
  return c.json(toPage(rows, limit, renderMcpServer, (row) => row.id), 200)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { id, serverId } = c.req.valid('param')
  return c.json(renderMcpServer(await servers.getMcpServer(c.var.services, c.var.auth, id, serverId)), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const { id, serverId } = c.req.valid('param')
  return c.json(renderMcpServer(await servers.updateMcpServer(c.var.services, c.var.auth, id, serverId, c.req.valid('json'))), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const { id, serverId } = c.req.valid('param')
  await servers.deleteMcpServer(c.var.services, c.var.auth, id, serverId)
  return c.body(null, 204)
}
