import { findMessage, setFeedback, type MessageRow } from '../../db/repositories/messages'
import { AppError, notFound } from '../../errors'
import { renderMessage } from '../../chat/render'
import { conversationAccess, requireWrite } from '../../services/conversation-access'
import type { AppRouteHandler, AuthContext, Services } from '../../types'
import type * as routes from './messages.routes'

/** Feedback is given on assistant messages by anyone who may post in the conversation. */
async function ratableMessage(services: Services, auth: AuthContext, id: string): Promise<MessageRow> {
  const message = await findMessage(services.db, id)
  if (!message) throw notFound('Message')
  const access = await conversationAccess(services, auth, message.conversationId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? notFound('Message') : error
  })
  requireWrite(access)
  if (message.role !== 'assistant') {
    throw new AppError('validation_failed', 'id: only assistant messages take feedback', { errors: [{ path: 'id', message: 'Not an assistant message' }] })
  }
  return message
}

export const putFeedback: AppRouteHandler<typeof routes.putFeedback> = async (c) => {
  const services = c.var.services
  const message = await ratableMessage(services, c.var.auth, c.req.valid('param').id)
  const { rating, comment } = c.req.valid('json')
  const feedback = { rating, comment: comment || null }
  await setFeedback(services.db, message.id, feedback)
  return c.json(renderMessage({ ...message, feedbackRating: feedback.rating, feedbackComment: feedback.comment }), 200)
}

export const deleteFeedback: AppRouteHandler<typeof routes.deleteFeedback> = async (c) => {
  const services = c.var.services
  const message = await ratableMessage(services, c.var.auth, c.req.valid('param').id)
  await setFeedback(services.db, message.id, { rating: null, comment: null })
  return c.body(null, 204)
}
