import { createRoute, z } from '@hono/zod-openapi'
import { access } from '../../middleware/scopes'
import { openAIErrorResponses } from '../../protocols/openai-errors'
import { jsonContent } from '../../schemas'

const tags = ['Models']
const price = z.number().nullable()

export const ModelSchema = z
  .object({
    id: z.string().openapi({ example: 'us.anthropic.claude-sonnet-4-5-20250929-v1:0' }),
    object: z.literal('model'),
    created: z.number().int().openapi({ description: 'When Bedrock made the model available (Unix seconds, approximate); 0 when unknown' }),
    owned_by: z.string().openapi({ example: 'anthropic' }),
    name: z.string().openapi({ example: 'Claude Sonnet 4.5' }),
    contextWindow: z.number().int().nullable().openapi({ description: 'Tokens the model reads; null when unknown' }),
    maxOutputTokens: z.number().int().nullable().openapi({ description: "The most tokens one answer may have: a turn's maxTokens is capped to it; null when unknown" }),
    capabilities: z.object({ tools: z.boolean(), vision: z.boolean(), documents: z.boolean(), reasoning: z.boolean(), structuredOutput: z.boolean() }),
    pricing: z
      .object({ inputPerMTok: price, outputPerMTok: price, cacheReadPerMTok: price, cacheWritePerMTok: price })
      .openapi({ description: 'List prices in USD per million tokens; null where not offered or unknown' }),
    default: z.boolean().openapi({ description: 'True for DEFAULT_MODEL_ID, used when a turn names no model' }),
  })
  .openapi('Model')

const description =
  'OpenAI-compatible: errors are `{error: {message, type, param, code}}` (as OpenAI answers them), not problem+json.'

export const list = createRoute({
  method: 'get',
  path: '/v1/models',
  tags,
  summary: 'The models turns may use: the built-in catalog with MODEL_CATALOG, or exactly MODEL_IDS when set',
  description,
  ...access('read'),
  responses: {
    200: jsonContent(z.object({ object: z.literal('list'), data: z.array(ModelSchema) }).openapi('ModelList'), 'Models'),
    ...openAIErrorResponses(401, 403),
  },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/models/{model}',
  tags,
  summary: 'One model turns may use; 404 for any other id',
  description: `${description} An id containing \`/\` (an ARN) is sent percent-encoded.`,
  ...access('read'),
  request: { params: z.object({ model: z.string().min(1).max(300).openapi({ example: 'amazon.nova-lite-v1:0' }) }) },
  responses: { 200: jsonContent(ModelSchema, 'The model'), ...openAIErrorResponses(401, 403, 404) },
})
