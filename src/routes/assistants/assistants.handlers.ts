import { z } from '@hono/zod-openapi'
import type { AssistantRow } from '../../db/repositories/assistants'
import { decodeCursor, toPage } from '../../lib/pagination'
import * as assistants from '../../services/assistants'
import type { AppRouteHandler } from '../../types'
import type * as routes from './assistants.routes'

export function renderAssistant(row: AssistantRow) {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    name: row.name,
    description: row.description,
    modelId: row.modelId,
    systemPrompt: row.systemPrompt,
    inference: row.inference,
    tools: row.tools,
    task: row.task,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const { services, auth } = c.var
  const { workspaceId, ...input } = c.req.valid('json')
  const row = await assistants.createAssistant(services, auth, workspaceId ?? (await assistants.defaultWorkspaceId(services, auth)), input)
  return c.json(renderAssistant(row), 201)
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { services, auth } = c.var
  const query = c.req.valid('query')
  const workspaceId = query.workspaceId ?? (await assistants.defaultWorkspaceId(services, auth))
  const rows = await assistants.listAssistants(services, auth, workspaceId, { after: decodeCursor(query.cursor, z.string()), limit: query.limit })
  return c.json(toPage(rows, query.limit, renderAssistant, (row) => row.id), 200)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  return c.json(renderAssistant(await assistants.getAssistant(c.var.services, c.var.auth, c.req.valid('param').id)), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const row = await assistants.updateAssistant(c.var.services, c.var.auth, c.req.valid('param').id, c.req.valid('json'))
  return c.json(renderAssistant(row), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await assistants.deleteAssistant(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.body(null, 204)
}
