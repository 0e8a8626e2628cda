import { toPage } from '../../lib/pagination'
import { search as searchConversations, searchKey } from '../../services/search'
import type { SearchHit } from '../../db/repositories/search'
import type { AppRouteHandler } from '../../types'
import type * as routes from './search.routes'

const render = (hit: SearchHit) => ({
  conversationId: hit.conversationId,
  ...(hit.messageId ? { messageId: hit.messageId } : {}),
  snippet: hit.snippet,
  rank: hit.rank,
})

export const search: AppRouteHandler<typeof routes.search> = async (c) => {
  const query = c.req.valid('query')
  const hits = await searchConversations(c.var.services, c.var.auth, query)
  return c.json(toPage(hits, query.limit, render, searchKey), 200)
}
