import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { access } from '../../middleware/scopes'
import { jsonContent } from '../../schemas'

const instant = z.iso.datetime({ offset: true }).or(z.iso.date())

export const UsageQuerySchema = z.object({
  workspaceId: z.string().min(1).max(100).optional().openapi({ description: "Default: the API key's workspace, else your personal workspace" }),
  from: instant.optional().openapi({ description: 'Start, inclusive (ISO 8601; a date is its midnight UTC). Default: the start of this month (UTC)' }),
  to: instant.optional().openapi({ description: 'End, exclusive. Default: now' }),
  groupBy: z.enum(['day', 'model', 'user', 'apiKey']).default('day').openapi({ description: 'Days are UTC calendar days' }),
})

const Sums = {
  requests: z.number().int().openapi({ description: 'Model calls' }),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  costUsd: z.number().openapi({ description: "Tokens × the model catalog's prices, in USD" }),
}

export const UsageReportSchema = z
  .object({
    data: z.array(z.object({ key: z.string().nullable().openapi({ description: 'The day (YYYY-MM-DD), model id, user id or API key id (null: no key)' }), ...Sums })),
    totals: z.object(Sums),
  })
  .openapi('UsageReport')

export const get = createRoute({
  method: 'get',
  path: '/v1/usage',
  tags: ['Usage'],
  summary: "Usage and cost from the ledger: a workspace's for admins, your own for other members",
  description: 'Every model call is one ledger row (native turns, each tool-loop step, OpenAI-compatible and AI SDK requests, titles).',
  ...access('read'),
  request: { query: UsageQuerySchema },
  responses: { 200: jsonContent(UsageReportSchema, 'Sums per group, and totals'), ...errorResponses(400, 401, 403, 404) },
})
