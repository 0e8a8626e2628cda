import { z } from '@hono/zod-openapi'
import * as repo from '../../db/repositories/conversations'
import { feedbackFor, findMessage, listMessages as listMessageRows } from '../../db/repositories/messages'
import { AppError, errorStatus, notFound, problemResponse, type ErrorCode } from '../../errors'
import { collectTurn } from '../../protocols/collect-turn'
import { decodeCursor, toPage } from '../../lib/pagination'
import { renderConversation, renderMessage } from '../../chat/render'
import { jsonExport, markdownExport } from './export-stream'
import { storedGenerationEvents } from '../../chat/stored-events'
import { conversationAccess, requireManage } from '../../services/conversation-access'
import { resolveModel, startTurn } from '../../chat/turns'
import { workspaceAccess } from '../../services/workspace-access'
import { eventStreamResponse, lastEventId, waitUntil } from '../generations/event-stream'
import { findPersonalWorkspace } from '../../db/repositories/workspaces'
import { conversationPreset } from '../../services/assistants'
import type { AppRouteHandler, Services } from '../../types'
import type * as routes from './conversations.routes'

const ListCursor = z.tuple([z.number().int(), z.string()])

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const services = c.var.services
  const auth = c.var.auth
  const body = c.req.valid('json')
  const workspaceId = body.workspaceId ?? auth.workspaceScope ?? (await personalWorkspaceId(services, auth.userId))
  await workspaceAccess(services, auth, workspaceId, 'member')
  const preset = await conversationPreset(services, auth, body, workspaceId)
  const now = services.now()
  const row: repo.ConversationRow = {
    id: services.newId('conv'),
    workspaceId,
    userId: auth.userId,
    title: body.title ?? null,
    modelId: body.modelId ? resolveModel(services, body.modelId) : null,
    systemPrompt: body.systemPrompt ?? null,
    visibility: body.visibility,
    archived: false,
    activeGenerationId: null,
    metadata: body.metadata ?? {},
    storedBytes: 0,
    clientChatId: null,
    createdAt: now,
    updatedAt: now,
    ...preset,
  }
  await repo.insertConversation(services.db, row)
  return c.json(renderConversation(row), 201)
}

async function personalWorkspaceId(services: Services, userId: string): Promise<string> {
  const personal = await findPersonalWorkspace(services.db, userId)
  if (!personal) throw new AppError('validation_failed', 'workspaceId: required (you have no personal workspace)', { errors: [{ path: 'workspaceId', message: 'Required' }] })
  return personal.id
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const services = c.var.services
  const auth = c.var.auth
  const query = c.req.valid('query')
  const workspaceId = query.workspaceId ?? auth.workspaceScope
  if (workspaceId) await workspaceAccess(services, auth, workspaceId)
  const after = decodeCursor(query.cursor, ListCursor)
  const rows = await repo.listVisibleConversations(services.db, {
    userId: auth.userId,
    workspaceId,
    archived: query.archived === 'true',
    q: query.q ?? null,
    after: after ? { updatedAt: after[0], id: after[1] } : null,
    limit: query.limit,
  })
  return c.json(toPage(rows, query.limit, renderConversation, (row) => [row.updatedAt.getTime(), row.id]), 200)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { conversation } = await conversationAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.json(renderConversation(conversation), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const services = c.var.services
  const access = await conversationAccess(services, c.var.auth, c.req.valid('param').id)
  requireManage(access)
  const body = c.req.valid('json')
  const changes = {
    ...(body.title !== undefined ? { title: body.title } : {}),
    ...(body.archived !== undefined ? { archived: body.archived } : {}),
    ...(body.visibility !== undefined ? { visibility: body.visibility } : {}),
    ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    updatedAt: services.now(),
  }
  await repo.updateConversation(services.db, access.conversation.id, changes)
  return c.json(renderConversation({ ...access.conversation, ...changes }), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const services = c.var.services
  const access = await conversationAccess(services, c.var.auth, c.req.valid('param').id)
  requireManage(access)
  const active = access.conversation.activeGenerationId
  if (active) {
    await services.hub.cancel(active)
    await services.hub.running(active)
  }
  await repo.deleteConversation(services.db, access.conversation.id)
  return c.body(null, 204)
}

export const listMessages: AppRouteHandler<typeof routes.listMessages> = async (c) => {
  const services = c.var.services
  const { conversation } = await conversationAccess(services, c.var.auth, c.req.valid('param').id)
  const { limit, cursor } = c.req.valid('query')
  const rows = await listMessageRows(services.db, conversation.id, { after: decodeCursor(cursor, z.string()), limit })
  const feedback = await feedbackFor(services.db, rows.slice(0, limit).map((row) => row.id), c.var.auth.userId)
  return c.json(toPage(rows, limit, (row) => renderMessage(row, feedback.get(row.id)), (row) => row.id), 200)
}

export const sendTurn: AppRouteHandler<typeof routes.sendTurn> = async (c) => {
  const services = c.var.services
  const body = c.req.valid('json')
  const { 'idempotency-key': idempotencyKey } = c.req.valid('header')
  const turn = await startTurn(services, c.var.auth, c.req.valid('param').id, { ...body, idempotencyKey }, { waitUntil: waitUntil(c) })
  const generationId = turn.generation.id
  if (turn.replayed) c.header('Idempotent-Replayed', 'true')
  const events =
    (await services.hub.subscribe(generationId, 0)) ??
    (turn.replayed && turn.generation.status !== 'running' ? storedGenerationEvents(turn.generation, turn.assistantMessage) : null)
  if (!events) throw new AppError('internal', 'The generation could not be followed')
  if (body.stream) return eventStreamResponse(c, events) as never

  const { ending } = await collectTurn(events)
  const failure =
    ending?.type === 'failed' ? { code: ending.code, message: ending.message } : ending?.type === 'cancelled' ? { code: 'conflict', message: 'The generation was cancelled' } : null
  if (failure) {
    const code: ErrorCode = Object.hasOwn(errorStatus, failure.code) ? (failure.code as ErrorCode) : 'upstream_error'
    return problemResponse(
      c,
      new AppError(code, failure.message, {
        members: { generationId, assistantMessageId: turn.assistantMessage.id },
        ...(code === 'rate_limited' ? { headers: { 'Retry-After': '1' } } : {}),
      }),
    ) as never
  }
  const [userMessage, assistantMessage] = await Promise.all([findMessage(services.db, turn.userMessage.id), findMessage(services.db, turn.assistantMessage.id)])
  if (!userMessage || !assistantMessage) throw notFound('Message')
  return c.json({ userMessage: renderMessage(userMessage), assistantMessage: renderMessage(assistantMessage) }, 201)
}

export const exportConversation: AppRouteHandler<typeof routes.exportConversation> = async (c) => {
  const services = c.var.services
  const { conversation } = await conversationAccess(services, c.var.auth, c.req.valid('param').id)
  const markdown = c.req.valid('query').format === 'markdown'
  c.header('Content-Disposition', `attachment; filename="${conversation.id}.${markdown ? 'md' : 'json'}"`)
  const body = markdown ? markdownExport(services.db, conversation) : jsonExport(services.db, conversation, c.var.auth.userId)
  return c.body(body, 200, {
    'Content-Type': markdown ? 'text/markdown; charset=utf-8' : 'application/json',
  }) as never
}

export const attach: AppRouteHandler<typeof routes.attach> = async (c) => {
  const services = c.var.services
  const { conversation } = await conversationAccess(services, c.var.auth, c.req.valid('param').id)
  const active = conversation.activeGenerationId
  const events = active ? await services.hub.subscribe(active, lastEventId(c, c.req.valid('query').after)) : null
  if (!events) return c.body(null, 204)
  return eventStreamResponse(c, events) as never
}
