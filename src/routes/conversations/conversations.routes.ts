import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses, ProblemSchema } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../../lib/json-shape'
import { storedName } from '../../lib/text'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'
import { PartSchema } from '../../chat/parts'
import { BranchMessageSchema, ConversationSchema, MessageSchema } from '../../chat/render'
import { TaskNameSchema, TurnToolsSchema } from '../../tools/turn-tools'

const tags = ['Conversations']
const ConversationParams = z.object({ id: pathId('conv_01J...') })
const Metadata = z
  .record(z.string().max(100), z.unknown())
  .refine((value) => !nestsDeeperThan(value, MAX_JSON_DEPTH), { message: `must nest at most ${MAX_JSON_DEPTH} levels`, abort: true })
  .refine((value) => JSON.stringify(value).length <= 16_384, 'must serialize to at most 16 KB')
const Visibility = z.enum(['private', 'workspace'])
const ModelId = z.string().min(1).max(300)

export const InferenceSchema = z
  .object({
    maxTokens: z.number().int().min(1).max(200_000).optional(),
    temperature: z.number().min(0).max(1).optional(),
    topP: z.number().min(0).max(1).optional(),
    stopSequences: z.array(z.string().min(1).max(100)).max(4).optional(),
  })
  .openapi('InferenceConfig')

export const create = createRoute({
  method: 'post',
  path: '/v1/conversations',
  tags,
  summary: 'Start a conversation (in your personal workspace unless workspaceId is given)',
  ...access('chat'),
  request: jsonBody(
    z.object({
      workspaceId: z.string().min(1).max(100).optional(),
      assistantId: z.string().min(1).max(100).optional(),
      title: storedName(200).optional(),
      modelId: ModelId.optional(),
      systemPrompt: z.string().max(100_000).optional(),
      visibility: Visibility.default('private'),
      metadata: Metadata.optional(),
    }),
  ),
  responses: { 201: jsonContent(ConversationSchema, 'Created'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const list = createRoute({
  method: 'get',
  path: '/v1/conversations',
  tags,
  summary: 'Conversations you can see, newest activity first',
  ...access('read'),
  request: {
    query: PageQuerySchema.extend({
      workspaceId: z.string().min(1).max(100).optional(),
      q: z.string().trim().min(1).max(200).optional().openapi({ description: 'Searches titles and message text' }),
      archived: z.enum(['true', 'false']).default('false').openapi({ description: 'Archived conversations only with true' }),
    }),
  },
  responses: { 200: jsonContent(listOf(ConversationSchema), 'Conversations'), ...errorResponses(400, 401, 404) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}',
  tags,
  summary: 'Get a conversation',
  ...access('read'),
  request: { params: ConversationParams },
  responses: { 200: jsonContent(ConversationSchema, 'The conversation'), ...errorResponses(401, 404) },
})

export const update = createRoute({
  method: 'patch',
  path: '/v1/conversations/{id}',
  tags,
  summary: 'Rename, archive, share or tag a conversation, or switch its branch',
  ...access('chat'),
  request: {
    params: ConversationParams,
    ...jsonBody(
      z.object({
        title: storedName(200).nullable().optional(),
        archived: z.boolean().optional(),
        visibility: Visibility.optional(),
        metadata: Metadata.optional(),
        currentLeafId: z
          .string()
          .min(1)
          .max(100)
          .optional()
          .openapi({ description: 'Show and continue the branch through this message: the leaf becomes the newest message under it' }),
      }),
    ),
  },
  responses: { 200: jsonContent(ConversationSchema, 'Updated'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/conversations/{id}',
  tags,
  summary: 'Delete a conversation and its messages (a running generation is cancelled)',
  ...access('chat'),
  request: { params: ConversationParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
})

export const listMessages = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}/messages',
  tags,
  summary: 'Messages of the current branch (root → leaf) or of the whole tree, oldest first',
  ...access('read'),
  request: {
    params: ConversationParams,
    query: PageQuerySchema.extend({
      branch: z.enum(['current', 'all']).default('current').openapi({ description: "current: the chain from the root to the conversation's currentLeafId; all: every message" }),
    }),
  },
  responses: { 200: jsonContent(listOf(BranchMessageSchema), 'Messages'), ...errorResponses(400, 401, 404) },
})

export const TurnBody = z
  .object({
    content: z.union([z.string(), z.array(PartSchema)]),
    stream: z.boolean().default(true),
    modelId: ModelId.optional(),
    inference: InferenceSchema.optional(),
    parentId: z
      .string()
      .min(1)
      .max(100)
      .nullable()
      .optional()
      .openapi({ description: "The message this turn follows (an edit: the edited message's parentId); null starts a new root; default: the conversation's currentLeafId" }),
    tools: TurnToolsSchema.optional(),
    task: TaskNameSchema.optional(),
  })
  .openapi('Turn')

const FailedTurnSchema = ProblemSchema.extend({ generationId: z.string(), assistantMessageId: z.string() })

/** A turn's answers (a new message or a regenerate): SSE, both messages, or the model's failure. */
export const turnResponses = {
  200: { description: 'Server-sent events (stream: true)', content: { 'text/event-stream': { schema: z.string() } } },
  201: jsonContent(z.object({ userMessage: MessageSchema, assistantMessage: MessageSchema }).openapi('TurnResult'), 'Completed (stream: false)'),
  429: { description: 'Model throttled (rate_limited)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
  502: { description: 'Model failed (upstream_error)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
  504: { description: 'Model timed out (upstream_timeout)', content: { 'application/problem+json': { schema: FailedTurnSchema } } },
}

export const sendTurn = createRoute({
  method: 'post',
  path: '/v1/conversations/{id}/messages',
  tags,
  summary: 'Send a user turn and run the model',
  description:
    'The user message is stored before the model is called. With `stream: true` (default) the answer streams as ' +
    'server-sent events (`generation.started`, `text.delta`, …, one terminal event); with `stream: false` the call ' +
    'returns both messages once the generation ends. The generation runs detached: a client that disconnects does ' +
    'not stop it. A second turn while one runs is 409 with `activeGenerationId`. With an `Idempotency-Key`, a retry ' +
    'attaches to the original generation instead of calling the model again.',
  ...access('chat'),
  request: {
    params: ConversationParams,
    headers: z.object({
      'idempotency-key': z
        .string()
        .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 visible ASCII characters')
        .optional()
        .openapi({ description: 'A retry with the same key and body returns the same generation (24 h); a different body is 422' }),
    }),
    ...jsonBody(TurnBody),
  },
  responses: { ...errorResponses(400, 401, 403, 404, 409, 413, 415, 422), ...turnResponses },
})

export const exportConversation = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}/export',
  tags,
  summary: 'Export as JSON or Markdown',
  ...access('read'),
  request: { params: ConversationParams, query: z.object({ format: z.enum(['json', 'markdown']).default('json') }) },
  responses: {
    200: {
      description: 'JSON: the conversation with every message of its tree; Markdown: its current branch',
      content: {
        'application/json': { schema: z.object({ conversation: ConversationSchema, messages: z.array(MessageSchema) }) },
        'text/markdown': { schema: z.string() },
      },
    },
    ...errorResponses(400, 401, 404),
  },
})

export const attach = createRoute({
  method: 'get',
  path: '/v1/conversations/{id}/stream',
  tags,
  summary: "Attach to the conversation's active generation (SSE)",
  description: 'Replays from the start, or after `Last-Event-ID` / `?after=N`, then follows live. 204 when none is active.',
  ...access('read'),
  request: { params: ConversationParams, query: z.object({ after: z.coerce.number().int().min(0).optional() }) },
  responses: {
    200: { description: 'Server-sent events', content: { 'text/event-stream': { schema: z.string() } } },
    204: { description: 'No generation is active' },
    ...errorResponses(400, 401, 404),
  },
})
