import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { MessageSchema } from '../../chat/render'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'

const tags = ['Conversations']
const MessageParams = z.object({ id: pathId('msg_01J...') })

export const putFeedback = createRoute({
  method: 'put',
  path: '/v1/messages/{id}/feedback',
  tags,
  summary: 'Rate an assistant message',
  ...access('chat'),
  request: { params: MessageParams, ...jsonBody(z.object({ rating: z.enum(['up', 'down']), comment: z.string().max(2000).optional() })) },
  responses: { 200: jsonContent(MessageSchema, 'The rated message'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const deleteFeedback = createRoute({
  method: 'delete',
  path: '/v1/messages/{id}/feedback',
  tags,
  summary: 'Remove the rating of a message',
  ...access('chat'),
  request: { params: MessageParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses(401, 403, 404) },
})
