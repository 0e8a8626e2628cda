import { feedbackFor, findMessage, setFeedback, type MessageRow } from '../../db/repositories/messages'
import { AppError, notFound } from '../../errors'
import { renderMessage } from '../../chat/render'
import { conversationAccess, requireRate } from '../../services/conversation-access'
import type { AppRouteHandler, AuthContext, Services } from '../../types'
import type * as routes from './messages.routes'
import { regenerateAnswer } from '../../services/conversations'
import { turnResponse } from '../conversations/turn-response'
import { waitUntil } from '../generations/event-stream'

/** Feedback is given on assistant messages by every member who may read the conversation, one rating each. */
async function ratableMessage(services: Services, auth: AuthContext, id: string): Promise<MessageRow> {
  const message = await findMessage(services.db, id)
  if (!message) throw notFound('Message')
  const access = await conversationAccess(services, auth, message.conversationId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? notFound('Message') : error
  })
  requireRate(access)
  if (message.role !== 'assistant') {
    throw new AppError('validation_failed', 'id: only assistant messages take feedback', { errors: [{ path: 'id', message: 'Not an assistant message' }] })
  }
  return message
}

export const putFeedback: AppRouteHandler<typeof routes.putFeedback> = async (c) => {
  const { services, auth } = c.var
  const message = await ratableMessage(services, auth, c.req.valid('param').id)
  const { rating, comment } = c.req.valid('json')
  await setFeedback(services.db, message.id, auth.userId, { rating, comment: comment ?? null }, services.now())
  const feedback = (await feedbackFor(services.db, [message.id], auth.userId)).get(message.id)
  return c.json(renderMessage(message, feedback), 200)
}

export const deleteFeedback: AppRouteHandler<typeof routes.deleteFeedback> = async (c) => {
  const { services, auth } = c.var
  const message = await ratableMessage(services, auth, c.req.valid('param').id)
  await setFeedback(services.db, message.id, auth.userId, null, services.now())
  return c.body(null, 204)
}

export const regenerate: AppRouteHandler<typeof routes.regenerate> = async (c) => {
  const { services, auth } = c.var
  const body = c.req.valid('json') as Partial<ReturnType<typeof c.req.valid<'json'>>> | undefined
  const turn = await regenerateAnswer(services, auth, c.req.valid('param').id, { modelId: body?.modelId, inference: body?.inference }, { waitUntil: waitUntil(c) })
  return (await turnResponse(c, turn, body?.stream ?? true)) as never
}
