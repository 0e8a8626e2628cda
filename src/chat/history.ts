import type { HistoryMessage, MediaStub } from '../db/repositories/messages'
import type { Part } from './parts'

/** Bedrock Converse's per-request limits on attachments. */
export const REQUEST_MEDIA_LIMITS = { images: 20, documents: 5 }

/** Rough token costs: about four characters a token, a flat cost per attachment. */
const CHARS_PER_TOKEN = 4
export const IMAGE_TOKENS = 1_600
export const DOCUMENT_TOKENS = 3_000

/** What of the chain was left out of the model call, recorded on the assistant message (`metadata.context`). */
export interface ContextOmissions {
  omittedMessages: number
  omittedImages: number
  omittedDocuments: number
}

export interface FittedHistory {
  messages: HistoryMessage[]
  /** Null when the whole chain is sent. */
  omitted: ContextOmissions | null
}

type StoredPart = Part | MediaStub

const isMedia = (part: StoredPart): part is MediaStub | Extract<Part, { type: 'image' | 'document' }> => part.type === 'image' || part.type === 'document'

/** A media part without its bytes, as the history query returns it (the turn's own message is stripped the same way). */
export function stripMedia(parts: readonly Part[]): StoredPart[] {
  return parts.map((part) =>
    isMedia(part) ? { type: part.type, format: part.format, ...(part.type === 'document' ? { name: part.name } : {}), bytes: Math.floor(((part.data?.length ?? 0) * 3) / 4) } : part,
  )
}

/** Whether the parts hold media whose bytes are still in the database. */
export const hasMediaStubs = (parts: readonly unknown[]): boolean => (parts as StoredPart[]).some((part) => isMedia(part) && !('data' in part))

export function estimateTokens(parts: readonly unknown[]): number {
  let chars = 0
  let tokens = 0
  for (const part of parts as StoredPart[]) {
    if (part.type === 'image') tokens += IMAGE_TOKENS
    else if (part.type === 'document') tokens += DOCUMENT_TOKENS
    else if (part.type === 'text' || part.type === 'reasoning') chars += part.text.length
    else if (part.type === 'tool_call') chars += part.name.length + (JSON.stringify(part.input)?.length ?? 0)
    else if (part.type === 'tool_result') chars += JSON.stringify(part.content)?.length ?? 0
  }
  return tokens + Math.ceil(chars / CHARS_PER_TOKEN)
}

const mediaNote = (part: MediaStub | Extract<Part, { type: 'image' | 'document' }>): Part => ({
  type: 'text',
  text: part.type === 'image' ? '[image omitted]' : `[document "${part.name}" omitted]`,
})

/** Whether a message adds anything to the model call (failed or cancelled answers without content do not). */
const hasContent = (message: HistoryMessage) =>
  (message.parts as StoredPart[]).some((part) => part.type !== 'text' || part.text.trim() !== '')

/**
 * Fits the chain (oldest first; the last message is the turn's own and is always sent whole) to one model call:
 * at most REQUEST_MEDIA_LIMITS attachments and `budgetTokens` estimated tokens. Media of the oldest messages go
 * first (each replaced by a short note), then the oldest messages themselves.
 */
export function fitHistory(history: readonly HistoryMessage[], budgetTokens: number): FittedHistory {
  const entries = history.map((message) => {
    const parts = message.parts as StoredPart[]
    return {
      message,
      parts,
      kept: true,
      tokens: estimateTokens(parts),
      images: parts.filter((part) => part.type === 'image').length,
      documents: parts.filter((part) => part.type === 'document').length,
    }
  })
  const total = { tokens: 0, images: 0, documents: 0 }
  for (const entry of entries) {
    total.tokens += entry.tokens
    total.images += entry.images
    total.documents += entry.documents
  }
  const omitted: ContextOmissions = { omittedMessages: 0, omittedImages: 0, omittedDocuments: 0 }
  const older = entries.slice(0, -1)

  for (const entry of older) {
    const tooManyImages = total.images > REQUEST_MEDIA_LIMITS.images && entry.images > 0
    const tooManyDocuments = total.documents > REQUEST_MEDIA_LIMITS.documents && entry.documents > 0
    if (!tooManyImages && !tooManyDocuments && !(total.tokens > budgetTokens && entry.images + entry.documents > 0)) continue
    entry.parts = entry.parts.map((part) => (isMedia(part) ? mediaNote(part) : part))
    const tokens = estimateTokens(entry.parts)
    total.tokens += tokens - entry.tokens
    total.images -= entry.images
    total.documents -= entry.documents
    omitted.omittedImages += entry.images
    omitted.omittedDocuments += entry.documents
    Object.assign(entry, { tokens, images: 0, documents: 0 })
  }
  for (const entry of older) {
    if (total.tokens <= budgetTokens) break
    entry.kept = false
    total.tokens -= entry.tokens
    omitted.omittedImages += entry.images
    omitted.omittedDocuments += entry.documents
    if (hasContent(entry.message)) omitted.omittedMessages += 1
  }

  const messages = entries.filter((entry) => entry.kept).map((entry) => (entry.parts === entry.message.parts ? entry.message : { ...entry.message, parts: entry.parts }))
  const nothingOmitted = omitted.omittedMessages + omitted.omittedImages + omitted.omittedDocuments === 0
  return { messages, omitted: nothingOmitted ? null : omitted }
}
