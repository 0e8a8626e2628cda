import { createRoute, z } from '@hono/zod-openapi'
import { access } from '../../middleware/scopes'
import { openAIErrorResponses } from '../../protocols/openai-errors'
import { ResponseRequestSchema } from '../../protocols/responses-request'
import { jsonBody, jsonContent, pathId } from '../../schemas'

const tags = ['OpenAI-compatible']

const OutputItemSchema = z.looseObject({ type: z.enum(['message', 'function_call', 'reasoning']), id: z.string(), status: z.string() })

export const ResponseSchema = z
  .looseObject({
    id: z.string().openapi({ example: 'resp_01M80T0764EYQFTGZ2RZXQ773P' }),
    object: z.literal('response'),
    created_at: z.number().int(),
    completed_at: z.number().int().nullable(),
    status: z.enum(['queued', 'in_progress', 'completed', 'failed', 'cancelled', 'incomplete']),
    background: z.boolean(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
    incomplete_details: z.object({ reason: z.string() }).nullable(),
    instructions: z.string().nullable(),
    model: z.string(),
    output: z.array(OutputItemSchema),
    output_text: z.string().openapi({ description: 'The text of the output messages, joined' }),
    previous_response_id: z.string().nullable(),
    store: z.boolean(),
    usage: z
      .object({
        input_tokens: z.number().int(),
        input_tokens_details: z.object({ cached_tokens: z.number().int() }),
        output_tokens: z.number().int(),
        output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
        total_tokens: z.number().int(),
      })
      .nullable(),
    metadata: z.record(z.string(), z.string()),
  })
  .openapi('Response')

const ResponseParams = z.object({ id: pathId('resp_01J...') })

const streamContent = { 'text/event-stream': { schema: z.string().openapi({ description: 'Open Responses events: `event: <type>` and `data: {json}` with `sequence_number`, then `data: [DONE]`' }) } }

export const create = createRoute({
  method: 'post',
  path: '/v1/responses',
  tags,
  summary: 'Create a response (OpenAI Responses / Open Responses), streamed, in the background or not',
  description:
    'A stored response (`store`, default true) is a turn of a conversation (created on first use, in your personal or ' +
    'the API key’s workspace, with `metadata.source: "responses"`): `previous_response_id` continues it, and ' +
    '`GET /v1/responses/{id}` reads it back. `store: false` is stateless. `background: true` answers at once with ' +
    'status `queued` while the generation runs detached. `input` is a string or items (messages with `input_text`, ' +
    '`input_image` and `input_file` as data URLs, `function_call`, `function_call_output`); only function tools are ' +
    'served, and their calls end the response. `text.format` `json_schema` is structured output, for models whose ' +
    '`capabilities.structuredOutput` is true. `stream: true` answers with the Open Responses events. Errors are ' +
    '`{error: {message, type, param, code}}`.',
  ...access('chat'),
  request: jsonBody(ResponseRequestSchema),
  responses: {
    200: { description: 'The response object, or with `stream: true` its events', content: { 'application/json': { schema: ResponseSchema }, ...streamContent } },
    ...openAIErrorResponses(400, 401, 403, 404, 409, 413, 415, 429, 502, 504),
  },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/responses/{id}',
  tags,
  summary: 'Retrieve a stored response, or stream its events',
  description:
    'With `stream=true`, its events from the start (running or finished), or only those with a `sequence_number` ' +
    'above `starting_after`: how a dropped stream resumes.',
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
    200: { description: 'The response object, or its events', content: { 'application/json': { schema: ResponseSchema }, ...streamContent } },
    ...openAIErrorResponses(400, 401, 404),
  },
})

export const cancel = createRoute({
  method: 'post',
  path: '/v1/responses/{id}/cancel',
  tags,
  summary: 'Cancel a running response, keeping its partial output',
  description: 'Answers once the response has ended (status `cancelled`); a finished response is returned as it is.',
  ...access('chat'),
  request: { params: ResponseParams },
  responses: { 200: jsonContent(ResponseSchema, 'The response'), ...openAIErrorResponses(401, 403, 404) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/responses/{id}',
  tags,
  summary: 'Delete a stored response',
  description: 'Cancels it first if it runs. The id is gone (404, cannot be continued); the turn stays in its conversation.',
  ...access('chat'),
  request: { params: ResponseParams },
  responses: {
    200: jsonContent(z.object({ id: z.string(), object: z.literal('response'), deleted: z.literal(true) }).openapi('ResponseDeleted'), 'Deleted'),
    ...openAIErrorResponses(401, 403, 404),
  },
})
