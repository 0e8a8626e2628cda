import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { GenerationSchema } from '../../chat/render'
import { access } from '../../middleware/scopes'
import { jsonContent, pathId } from '../../schemas'

const tags = ['Generations']
const GenerationParams = z.object({ id: pathId('gen_01J...') })

export const get = createRoute({
  method: 'get',
  path: '/v1/generations/{id}',
  tags,
  summary: 'A generation and its outcome',
  ...access('read'),
  request: { params: GenerationParams },
  responses: { 200: jsonContent(GenerationSchema, 'The generation'), ...errorResponses(401, 404) },
})

export const events = createRoute({
  method: 'get',
  path: '/v1/generations/{id}/events',
  tags,
  summary: 'Replay and follow a generation (SSE)',
  description:
    'Replays the events with id > `Last-Event-ID` (or `?after=N`, default 0), then follows live. A finished ' +
    'generation replays and closes; events are kept for STREAM_RETENTION_SECONDS after it ends (404 after that).',
  ...access('read'),
  request: { params: GenerationParams, query: z.object({ after: z.coerce.number().int().min(0).optional() }) },
  responses: {
    200: { description: 'Server-sent events', content: { 'text/event-stream': { schema: z.string() } } },
    ...errorResponses(400, 401, 404),
  },
})

export const cancel = createRoute({
  method: 'post',
  path: '/v1/generations/{id}/cancel',
  tags,
  summary: 'Cancel a running generation',
  description: 'Aborts the model call; partial text is kept and subscribers receive `generation.cancelled`.',
  ...access('chat'),
  request: { params: GenerationParams },
  responses: { 202: jsonContent(GenerationSchema, 'Cancellation requested'), ...errorResponses(401, 403, 404, 409) },
})
