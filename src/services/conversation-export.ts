import { conversationMarkdownHeading, messageMarkdown, renderConversation, renderMessage } from '../chat/render'
import type { ConversationRow } from '../db/repositories/conversations'
import { branchMessageIds, feedbackFor, listMessages, messagesByIds, type MessageRow } from '../db/repositories/messages'
import type { Database } from '../db/database'

/** Messages read per query: a page holds at most this many (each within the turn limits), never the whole conversation. */
const PAGE = 8

/** The whole tree (every message, oldest first), or the branch ending at `leafId` (its ids read once, rows by page). */
async function* pages(db: Database, conversationId: string, branch: { leafId: string | null } | 'all'): AsyncGenerator<MessageRow[]> {
  if (branch !== 'all') {
    const ids = await branchMessageIds(db, conversationId, branch.leafId)
    for (let start = 0; start < ids.length; start += PAGE) yield messagesByIds(db, ids.slice(start, start + PAGE))
    return
  }
  let after: string | null = null
  for (;;) {
    const rows = await listMessages(db, conversationId, { after, limit: PAGE })
    const page = rows.slice(0, PAGE)
    if (page.length > 0) yield page
    if (rows.length <= PAGE) return
    after = page.at(-1)!.id
  }
}

/** A body written page by page as the client reads it. */
function pull(chunks: AsyncGenerator<string>): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    async pull(controller) {
      const next = await chunks.next()
      if (next.done) controller.close()
      else controller.enqueue(encoder.encode(next.value))
    },
    async cancel() {
      await chunks.return(undefined)
    },
  })
}

/** `{conversation, messages}` with every message of the tree, without holding the messages in memory. */
export function jsonExport(db: Database, conversation: ConversationRow, readerId: string): ReadableStream<Uint8Array> {
  return pull(
    (async function* () {
      yield `{"conversation":${JSON.stringify(renderConversation(conversation))},"messages":[`
      let first = true
      for await (const page of pages(db, conversation.id, 'all')) {
        const feedback = await feedbackFor(db, page.map((message) => message.id), readerId)
        yield (first ? '' : ',') + page.map((message) => JSON.stringify(renderMessage(message, feedback.get(message.id)))).join(',')
        first = false
      }
      yield ']}'
    })(),
  )
}

/** The current branch, root → leaf, as Markdown. */
export function markdownExport(db: Database, conversation: ConversationRow): ReadableStream<Uint8Array> {
  return pull(
    (async function* () {
      yield conversationMarkdownHeading(conversation)
      for await (const page of pages(db, conversation.id, { leafId: conversation.currentLeafId })) yield page.map(messageMarkdown).join('')
    })(),
  )
}
