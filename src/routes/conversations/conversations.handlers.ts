import type { MessageRow } from '../../db/repositories/messages'
import { toPage } from '../../lib/pagination'
import { renderConversation, renderMessage } from '../../chat/render'
import { startTurn } from '../../chat/turns'
import * as service from '../../services/conversations'
import { eventStreamResponse, lastEventId, waitUntil } from '../generations/event-stream'
import { turnResponse } from './turn-response'
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
  const query = c.req.valid('query')
  const { rows, feedback, siblings } = await service.conversationMessages(c.var.services, c.var.auth, c.req.valid('param').id, query)
  const render = (row: MessageRow) => ({ ...renderMessage(row, feedback.get(row.id)), siblingIds: siblings.get(row.id) ?? [row.id] })
  return c.json(toPage(rows, query.limit, render, (row) => row.id), 200)
}

export const sendTurn: AppRouteHandler<typeof routes.sendTurn> = async (c) => {
  const body = c.req.valid('json')
  const { 'idempotency-key': idempotencyKey } = c.req.valid('header')
  const turn = await startTurn(c.var.services, c.var.auth, c.req.valid('param').id, { ...body, idempotencyKey }, { waitUntil: waitUntil(c) })
  return (await turnResponse(c, turn, body.stream)) as never
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
