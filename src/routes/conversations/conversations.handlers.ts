import { findMessage } from '../../db/repositories/messages'
import { AppError, errorStatus, notFound, problemResponse, type ErrorCode } from '../../errors'
import { collectTurn } from '../../protocols/collect-turn'
import { toPage } from '../../lib/pagination'
import { renderConversation, renderMessage } from '../../chat/render'
import { storedGenerationEvents } from '../../chat/stored-events'
import { startTurn } from '../../chat/turns'
import * as service from '../../services/conversations'
import { eventStreamResponse, lastEventId, waitUntil } from '../generations/event-stream'
import type { AppRouteHandler } from '../../types'
import type * as routes from './conversations.routes'

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const row = await service.createConversation(c.var.services, c.var.auth, c.req.valid('json'))
  return c.json(renderConversation(row), 201)
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const query = c.req.valid('query')
  const rows = await service.listConversations(c.var.services, c.var.auth, { ...query, archived: query.archived === 'true' })
  return c.json(toPage(rows, query.limit, renderConversation, service.conversationListKey), 200)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const conversation = await service.getConversation(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.json(renderConversation(conversation), 200)
}

export const update: AppRouteHandler<typeof routes.update> = async (c) => {
  const conversation = await service.updateConversation(c.var.services, c.var.auth, c.req.valid('param').id, c.req.valid('json'))
  return c.json(renderConversation(conversation), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await service.deleteConversation(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.body(null, 204)
}

export const listMessages: AppRouteHandler<typeof routes.listMessages> = async (c) => {
  const { limit, cursor } = c.req.valid('query')
  const { rows, feedback } = await service.conversationMessages(c.var.services, c.var.auth, c.req.valid('param').id, { limit, cursor })
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
  const markdown = c.req.valid('query').format === 'markdown'
  const { conversation, body } = await service.exportConversation(c.var.services, c.var.auth, c.req.valid('param').id, markdown ? 'markdown' : 'json')
  c.header('Content-Disposition', `attachment; filename="${conversation.id}.${markdown ? 'md' : 'json'}"`)
  return c.body(body, 200, {
    'Content-Type': markdown ? 'text/markdown; charset=utf-8' : 'application/json',
  }) as never
}

export const attach: AppRouteHandler<typeof routes.attach> = async (c) => {
  const services = c.var.services
  const conversation = await service.getConversation(services, c.var.auth, c.req.valid('param').id)
  const active = conversation.activeGenerationId
  const events = active ? await services.hub.subscribe(active, lastEventId(c, c.req.valid('query').after)) : null
  if (!events) return c.body(null, 204)
  return eventStreamResponse(c, events) as never
}
