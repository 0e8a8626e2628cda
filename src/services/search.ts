import { z } from '@hono/zod-openapi'
import { searchIndex, type SearchHit } from '../db/repositories/search'
import { decodeCursor } from '../lib/pagination'
import { ftsQuery } from '../search/fts-query'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'

const SearchCursor = z.tuple([z.number(), z.number().int()])

export interface SearchInput {
  q: string
  workspaceId?: string | undefined
  cursor?: string | undefined
  limit: number
}

/** Title and message hits over the conversations the caller may read, best first; `limit + 1` rows (toPage). */
export async function search(services: Services, auth: AuthContext, input: SearchInput): Promise<SearchHit[]> {
  const workspaceId = input.workspaceId ?? auth.workspaceScope
  if (workspaceId) await workspaceAccess(services, auth, workspaceId)
  const after = decodeCursor(input.cursor, SearchCursor)
  const match = ftsQuery(input.q)
  if (!match) return []
  await services.search.catchUp()
  return searchIndex(services.db, { userId: auth.userId, workspaceId }, match, {
    after: after ? { rank: after[0], documentId: after[1] } : null,
    limit: input.limit,
  })
}

/** The key a search page's cursor encodes. */
export const searchKey = (hit: SearchHit): unknown => [hit.rank, hit.documentId]
