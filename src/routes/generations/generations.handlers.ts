import { findGeneration, type GenerationRow } from '../../db/repositories/generations'
import { AppError, notFound } from '../../errors'
import { renderGeneration } from '../../chat/render'
import { conversationAccess, requireManage, type ConversationAccess } from '../../services/conversation-access'
import type { AppRouteHandler, AuthContext, Services } from '../../types'
import { eventStreamResponse, lastEventId } from './event-stream'
import type * as routes from './generations.routes'

/** A generation is visible to whoever can see its conversation (which also finalizes an orphan on read). */
async function generationAccess(services: Services, auth: AuthContext, id: string): Promise<{ generation: GenerationRow; access: ConversationAccess }> {
  const found = await findGeneration(services.db, id)
  if (!found) throw notFound('Generation')
  const access = await conversationAccess(services, auth, found.conversationId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? notFound('Generation') : error
  })
  const generation = found.status === 'running' ? ((await findGeneration(services.db, id)) ?? found) : found
  return { generation, access }
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { generation } = await generationAccess(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.json(renderGeneration(generation), 200)
}

export const events: AppRouteHandler<typeof routes.events> = async (c) => {
  const services = c.var.services
  const { generation } = await generationAccess(services, c.var.auth, c.req.valid('param').id)
  const subscription = await services.hub.subscribe(generation.id, lastEventId(c, c.req.valid('query').after))
  if (!subscription) throw new AppError('not_found', 'The events of this generation have expired')
  return eventStreamResponse(c, subscription) as never
}

export const cancel: AppRouteHandler<typeof routes.cancel> = async (c) => {
  const services = c.var.services
  const { generation, access } = await generationAccess(services, c.var.auth, c.req.valid('param').id)
  requireManage(access)
  if (!(await services.hub.cancel(generation.id))) throw new AppError('conflict', `The generation already ended (${generation.status})`)
  return c.json(renderGeneration(generation), 202)
}
