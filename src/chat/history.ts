import type { HistoryMessage } from '../db/repositories/messages'

/** The chain from `leafId` up to the root, oldest first (API.md "Sending a turn", step 6). */
export function conversationPath(messages: readonly HistoryMessage[], leafId: string | null): HistoryMessage[] {
  const byId = new Map(messages.map((message) => [message.id, message]))
  const path: HistoryMessage[] = []
  const seen = new Set<string>()
  for (let id = leafId; id && !seen.has(id); id = byId.get(id)?.parentId ?? null) {
    seen.add(id)
    const message = byId.get(id)
    if (message) path.push(message)
  }
  return path.reverse()
}
