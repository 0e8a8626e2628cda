import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { access } from '../../middleware/scopes'
import { jsonContent } from '../../schemas'

export const SearchHitSchema = z
  .object({
    conversationId: z.string(),
    messageId: z.string().optional().openapi({ description: "The matching message; absent when the conversation's title matched" }),
    snippet: z.string().openapi({ description: 'The matching text around the match, as plain text (… where it was cut)' }),
    rank: z.number().openapi({ description: 'Relevance as SQLite FTS5 ranks it (bm25): lower is better; hits come best first' }),
  })
  .openapi('SearchHit')

export const search = createRoute({
  method: 'get',
  path: '/v1/search',
  tags: ['Conversations'],
  summary: 'Full-text search over the titles and messages of the conversations you can read',
  description: 'Every word of `q` must match (the last as a prefix), taken literally: FTS operators in it are text.',
  ...access('read'),
  request: {
    query: PageQuerySchema.extend({
      q: z.string().min(1).max(200),
      workspaceId: z.string().min(1).max(100).optional(),
    }),
  },
  responses: { 200: jsonContent(listOf(SearchHitSchema), 'Hits, best first'), ...errorResponses(400, 401, 404) },
})
