import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent } from '../../schemas'

const tags = ['AI SDK UI']

/** A chat id: a conversation id, or any other string the client chose (useChat's `id`). */
const ChatId = z
  .string()
  .min(1)
  .max(200)
  .refine((id) => id !== '.' && id !== '..', 'must not be "." or ".."')
  .openapi({ example: 'conv_01J... or a client chat id' })

const UIPartSchema = z.looseObject({ type: z.string().min(1).max(100) })

const UIMessageSchema = z
  .object({
    id: z.string().max(200),
    role: z.enum(['system', 'user', 'assistant']),
    parts: z.array(UIPartSchema).max(1000),
    metadata: z.unknown().optional(),
  })
  .openapi('UIMessage')

export const ChatRequestSchema = z
  .object({
    id: ChatId,
    messages: z.array(UIMessageSchema).min(1).max(100_000),
    trigger: z.enum(['submit-message', 'regenerate-message']),
    messageId: z.string().min(1).max(200).optional(),
    workspaceId: z.string().min(1).max(100).optional().openapi({ description: 'Where a new chat is created (default: your personal workspace)' }),
    assistantId: z.string().min(1).max(100).optional(),
    modelId: z.string().min(1).max(300).optional().openapi({ description: "The new chat's model, and this request's" }),
  })
  .openapi('UIChatRequest')

const streamResponse = {
  description: 'The UI message stream (x-vercel-ai-ui-message-stream: v1): `data: {json}` chunks, then `data: [DONE]`',
  content: { 'text/event-stream': { schema: z.string() } },
}

export const chat = createRoute({
  method: 'post',
  path: '/v1/ui/chat',
  tags,
  summary: "Send or regenerate a message, as the AI SDK's DefaultChatTransport does",
  description:
    '`id` is a conversation id you can write to, or any other string naming (and on first use creating) one of your ' +
    'conversations. The server keeps the history: of `messages` only the last user message is read (text and ' +
    '`file` parts with data URLs). `submit-message` with `messageId` edits that user message (a sibling branch); ' +
    '`regenerate-message` answers the user message of `messageId` (or of the last assistant message) again.',
  ...access('chat'),
  request: jsonBody(ChatRequestSchema),
  responses: { 200: streamResponse, ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422) },
})

const ChatParams = z.object({ id: ChatId })

export const stream = createRoute({
  method: 'get',
  path: '/v1/ui/chat/{id}/stream',
  tags,
  summary: "Resume the chat's active generation (useChat's resume)",
  description: 'Replays the active generation from its `start` (the same assistant `messageId`) and follows it. 204 when none is active or the chat id was never used.',
  ...access('read'),
  request: { params: ChatParams },
  responses: { 200: streamResponse, 204: { description: 'No generation is active' }, ...errorResponses(400, 401, 404) },
})

export const stop = createRoute({
  method: 'post',
  path: '/v1/ui/chat/{id}/stop',
  tags,
  summary: "Stop the chat's active generation, keeping the partial answer",
  description:
    'Answers once the generation has ended. `activeStreamId` (a generation id), when given, must match the active ' +
    'generation, else nothing is stopped. `assistantMessage` is ignored: the server keeps the partial answer itself.',
  ...access('chat'),
  request: {
    params: ChatParams,
    body: {
      content: { 'application/json': { schema: z.object({ activeStreamId: z.string().max(100).nullable().optional() }) } },
      required: false,
    },
  },
  responses: {
    200: jsonContent(
      z.object({ success: z.literal(true), stopped: z.boolean(), generationId: z.string().nullable() }).openapi('UIChatStopped'),
      'Stopped, or nothing was active',
    ),
    ...errorResponses(400, 401, 403, 404, 413, 415),
  },
})
