import { createRoute, z } from '@hono/zod-openapi'
import { access } from '../../middleware/scopes'
import { openAIErrorResponses } from '../../protocols/openai-errors'
import { ResponseRequestSchema } from '../../protocols/responses-request'
import { jsonBody, jsonContent, pathId } from '../../schemas'

const tags = ['OpenAI-compatible']

export const ResponseSchema = z
  .looseObject({
    id: z.string().openapi({ example: 'resp_01M80T0764EYQFTGZ2RZXQ773P' }),
    object: z.literal('response'),
    status: z.enum(['queued', 'in_progress', 'completed', 'failed', 'cancelled', 'incomplete']),
    output: z.array(z.looseObject({ type: z.string(), id: z.string() })),
  })
  .openapi('Response', { description: "OpenAI's response object (every field the Open Responses schema requires)" })

const ResponseParams = z.object({ id: pathId('resp_01J...') })

const streamContent = { 'text/event-stream': { schema: z.string() } }

export const create = createRoute({
  method: 'post',
  path: '/v1/responses',
  tags,
  summary: 'Create a response (OpenAI Responses / Open Responses)',
  description:
    'A stored response (`store`, default true) is a turn of a conversation; `previous_response_id` continues it. ' +
    '`background: true` answers at once (`queued`). Tools: `function` (the client answers its calls), `mcp` (a server ' +
    'registered in the workspace, by `server_label`) and the built-ins as `edgechat:<name>`, which the server runs ' +
    '(`mcp_call` and `edgechat:<name>` output items). `text.format` json_schema needs a model with ' +
    '`capabilities.structuredOutput`. Errors are OpenAI’s `{error}`.',
  ...access('chat'),
  request: jsonBody(ResponseRequestSchema),
  responses: {
    200: { description: 'The response, or its events', content: { 'application/json': { schema: ResponseSchema }, ...streamContent } },
    ...openAIErrorResponses(400, 401, 403, 404, 409, 413, 415, 429, 502, 504),
  },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/responses/{id}',
  tags,
  summary: 'Retrieve a stored response, or stream its events',
  description: 'With `stream=true`, its events, those after `starting_after` only (resuming a dropped stream).',
  ...access('read'),
  request: {
    params: ResponseParams,
    query: z.object({
      stream: z.enum(['true', 'false']).optional(),
      starting_after: z.coerce.number().int().min(-1).optional(),
      include: z.union([z.string(), z.array(z.string())]).optional(),
    }),
  },
  responses: {
    200: { description: 'The response, or its events', content: { 'application/json': { schema: ResponseSchema }, ...streamContent } },
    ...openAIErrorResponses(400, 401, 404),
  },
})

export const cancel = createRoute({
  method: 'post',
  path: '/v1/responses/{id}/cancel',
  tags,
  summary: 'Cancel a running response, keeping its partial output',
  ...access('chat'),
  request: { params: ResponseParams },
  responses: { 200: jsonContent(ResponseSchema, 'The response'), ...openAIErrorResponses(401, 403, 404) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/responses/{id}',
  tags,
  summary: 'Delete a stored response',
  ...access('chat'),
  request: { params: ResponseParams },
  responses: {
    200: jsonContent(z.object({ id: z.string(), object: z.literal('response'), deleted: z.literal(true) }).openapi('ResponseDeleted'), 'Deleted'),
    ...openAIErrorResponses(401, 403, 404),
  },
})

export const inputItems = createRoute({
  method: 'get',
  path: '/v1/responses/{id}/input_items',
  tags,
  summary: "A stored response's input items",
  ...access('read'),
  request: {
    params: ResponseParams,
    query: z.object({
      order: z.enum(['asc', 'desc']).default('desc'),
      after: z.string().max(200).optional(),
      limit: z.coerce.number().int().min(1).max(100).default(20),
    }),
  },
  responses: {
    200: jsonContent(
      z.object({ object: z.literal('list'), data: z.array(z.looseObject({ id: z.string(), type: z.string() })), first_id: z.string().nullable(), last_id: z.string().nullable(), has_more: z.boolean() }).openapi('ResponseInputItems'),
      'Its input items',
    ),
    ...openAIErrorResponses(400, 401, 404),
  },
})
