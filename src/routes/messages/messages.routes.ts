import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, ProblemSchema } from '../../errors'
import { InferenceSchema } from '../conversations/conversations.routes'
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

const FailedTurnSchema = ProblemSchema.extend({ generationId: z.string(), assistantMessageId: z.string() })

export const regenerate = createRoute({
  method: 'post',
  path: '/v1/messages/{id}/regenerate',
  tags,
  summary: 'Answer the user message of this assistant message again',
  description:
    'A new assistant message beside this one (a sibling: nothing is overwritten), which becomes the conversation\'s ' +
    'currentLeafId. Answers like a turn: server-sent events with `stream: true` (default), both messages with `stream: false`.',
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
  responses: {
    200: { description: 'Server-sent events (stream: true)', content: { 'text/event-stream': { schema: z.string() } } },
    201: jsonContent(z.object({ userMessage: MessageSchema, assistantMessage: MessageSchema }), 'Completed (stream: false)'),
    ...errorResponses(400, 401, 403, 404, 409, 413, 415),
    429: { description: 'Model throttled (rate_limited)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
    502: { description: 'Model failed (upstream_error)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
    504: { description: 'Model timed out (upstream_timeout)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
  },
})
