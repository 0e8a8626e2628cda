import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { InferenceSchema, turnResponses } from '../conversations/conversations.routes'
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

export const regenerate = createRoute({
  method: 'post',
  path: '/v1/messages/{id}/regenerate',
  tags,
  summary: 'Answer the user message of this assistant message again',
  description: "A new sibling of this answer (nothing is overwritten), which becomes the conversation's currentLeafId. Answers like a turn.",
  ...access('chat'),
  request: {
    params: MessageParams,
    body: {
      content: {
        'application/json': {
          schema: z.object({ stream: z.boolean().default(true), modelId: z.string().min(1).max(300).optional(), inference: InferenceSchema.optional() }).openapi('Regenerate'),
        },
      },
      required: false,
    },
  },
  responses: { ...errorResponses(400, 401, 403, 404, 409, 413, 415), ...turnResponses },
})
