import { createRoute, z } from '@hono/zod-openapi'
import { access } from '../../middleware/scopes'
import { openAIErrorResponses } from '../../protocols/openai-errors'
import { ChatCompletionRequestSchema } from '../../protocols/openai-request'
import { jsonBody } from '../../schemas'

const ToolCallSchema = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string().openapi({ description: 'The input, as JSON text' }) }),
})

const UsageSchema = z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int(), total_tokens: z.number().int() })

export const ChatCompletionSchema = z
  .object({
    id: z.string().openapi({ example: 'chatcmpl-01M80T0764EYQFTGZ2RZXQ773P' }),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    system_fingerprint: z.null(),
    choices: z.array(
      z.object({
        index: z.number().int(),
        message: z.object({
          role: z.literal('assistant'),
          content: z.string().nullable(),
          refusal: z.null(),
          reasoning_content: z.string().optional(),
          tool_calls: z.array(ToolCallSchema).optional(),
        }),
        logprobs: z.null(),
        finish_reason: z.enum(['stop', 'length', 'tool_calls', 'content_filter']),
      }),
    ),
    usage: UsageSchema,
  })
  .openapi('ChatCompletion')

export const create = createRoute({
  method: 'post',
  path: '/v1/chat/completions',
  tags: ['OpenAI-compatible'],
  summary: 'OpenAI Chat Completions, streamed or not, served by Bedrock; stateless',
  description:
    'What the official `openai` clients send to `<server>/v1`. The request carries the whole history; nothing is stored ' +
    'but usage. System and developer messages become the system prompt; images and files travel as data URLs (remote ' +
    'URLs are not fetched). Tools are declared and their calls returned (`finish_reason: "tool_calls"`); the caller runs ' +
    'them and sends `role: "tool"` results. `stream: true` answers `chat.completion.chunk`s as server-sent events, then ' +
    '`data: [DONE]` (with `stream_options.include_usage`, a last chunk with `choices: []` carries the usage); a failure ' +
    'after streaming began ends the stream with a `data: {"error": …}` chunk. Errors are `{error: {message, type, param, ' +
    'code}}` (as OpenAI answers them), not problem+json.',
  ...access('chat'),
  request: jsonBody(ChatCompletionRequestSchema),
  responses: {
    200: {
      description: 'The answer: a `chat.completion`, or with `stream: true` a `text/event-stream` of `chat.completion.chunk`s',
      content: { 'application/json': { schema: ChatCompletionSchema }, 'text/event-stream': { schema: z.string() } },
    },
    ...openAIErrorResponses(400, 401, 403, 413, 415, 429, 502, 504),
  },
})
