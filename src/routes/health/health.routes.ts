import { createRoute, z } from '@hono/zod-openapi'
import { ProblemSchema, errorResponses } from '../../errors'
import { jsonContent } from '../../schemas'

const tags = ['Operations']

const CheckSchema = z.object({ status: z.enum(['ok', 'error']), latencyMs: z.number().optional(), message: z.string().optional() })
const ChecksSchema = z.record(z.string(), CheckSchema)

export const health = createRoute({
  method: 'get',
  path: '/health',
  tags,
  summary: 'Liveness: the process answers (no dependency is touched)',
  responses: { 200: jsonContent(z.object({ status: z.literal('ok') }), 'Alive'), ...errorResponses() },
})

export const ready = createRoute({
  method: 'get',
  path: '/ready',
  tags,
  summary: 'Readiness: each dependency answers',
  description:
    'Anonymous callers get only ready (200) or not ready (503). The checks (database, stream state, Bedrock) are included for `Authorization: Bearer <METRICS_TOKEN>`, and for everyone when METRICS_TOKEN is unset outside production.',
  responses: {
    200: jsonContent(z.object({ status: z.literal('ok'), checks: ChecksSchema.optional() }).openapi('Readiness'), 'Ready'),
    503: {
      description: 'A dependency is not ready (not_ready)',
      content: { 'application/problem+json': { schema: ProblemSchema.extend({ checks: ChecksSchema.optional() }) } },
    },
    ...errorResponses(),
  },
})

export const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  tags,
  summary: 'Prometheus metrics of this process',
  description:
    'With METRICS_TOKEN set: `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise). Without it: open outside production, 404 in production.',
  responses: {
    200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } },
    ...errorResponses(401, 404),
  },
})
