import type { Part } from '../chat/parts'
import type { ConverseContentBlock, ConverseMessage } from './types'

type ImageFormat = Extract<Part, { type: 'image' }>['format']
type DocumentFormat = Extract<Part, { type: 'document' }>['format']
type ToolResultContent = ({ text: string } | { json: unknown })[]

export function partToContentBlock(part: Part): ConverseContentBlock {
  switch (part.type) {
    case 'text':
      return { text: part.text }
    case 'image':
      // A fileId part's bytes are read from the blob store before the request is built; a deleted file has none.
      return part.data === undefined ? { text: '[image removed]' } : { image: { format: part.format, source: { bytes: part.data } } }
    case 'document':
      return part.data === undefined ? { text: `[document "${part.name}" removed]` } : { document: { format: part.format, name: part.name, source: { bytes: part.data } } }
    case 'tool_call':
      return { toolUse: { toolUseId: part.toolUseId, name: part.name, input: part.input } }
    case 'tool_result':
      return { toolResult: { toolUseId: part.toolUseId, content: toToolResultContent(part.content), status: part.isError ? 'error' : 'success' } }
    case 'reasoning':
      return { reasoningContent: { reasoningText: part.signature === undefined ? { text: part.text } : { text: part.text, signature: part.signature } } }
  }
}

export function partsToContentBlocks(parts: readonly Part[]): ConverseContentBlock[] {
  return parts.map(partToContentBlock)
}

/** Converse output → our parts; block kinds we do not model (cachePoint, redacted reasoning, …) are skipped. */
export function contentBlocksToParts(blocks: readonly ConverseContentBlock[]): Part[] {
  const parts: Part[] = []
  for (const block of blocks) {
    if ('text' in block) parts.push({ type: 'text', text: block.text })
    else if ('image' in block) parts.push({ type: 'image', format: block.image.format as ImageFormat, data: block.image.source.bytes })
    else if ('document' in block) {
      const { format, name, source } = block.document
      parts.push({ type: 'document', format: format as DocumentFormat, name, data: source.bytes })
    } else if ('toolUse' in block) {
      const { toolUseId, name, input } = block.toolUse
      parts.push({ type: 'tool_call', toolUseId, name, input })
    } else if ('toolResult' in block) {
      const { toolUseId, content, status } = block.toolResult
      parts.push({ type: 'tool_result', toolUseId, content: fromToolResultContent(content), isError: status === 'error' })
    } else if ('reasoningContent' in block && block.reasoningContent.reasoningText) {
      const { text, signature } = block.reasoningContent.reasoningText
      parts.push(signature === undefined ? { type: 'reasoning', text } : { type: 'reasoning', text, signature })
    }
  }
  return parts
}

/** A string becomes a text block, a JSON object a json block; any other value is sent as its JSON text. */
function toToolResultContent(content: unknown): ToolResultContent {
  if (typeof content === 'string') return [{ text: content }]
  if (content !== null && typeof content === 'object' && !Array.isArray(content)) return [{ json: content }]
  return [{ text: JSON.stringify(content) ?? 'null' }]
}

function fromToolResultContent(content: ToolResultContent): unknown {
  const values = content.map((item) => ('text' in item ? item.text : item.json))
  return values.length === 1 ? values[0] : values
}

export interface HistoryMessage {
  role: 'user' | 'assistant'
  parts: readonly Part[]
  status: string
}

/**
 * Stored history (oldest first) → Converse messages (API.md "Sending a turn", step 6): failed or
 * cancelled assistant messages without content are left out, blank text blocks dropped, same-role
 * neighbours merged, leading assistant messages dropped. Beyond that, so Bedrock accepts the result:
 * tool results always travel in a user turn (an assistant message holding a whole tool loop is
 * split), reasoning without a signature is dropped (Bedrock rejects it), and a toolUse without a
 * toolResult in the next turn (or the reverse, e.g. after a cancelled tool loop) is dropped. With `toolsAsText`
 * (a request that declares no tools, which Bedrock refuses when it holds tool blocks), calls and results are
 * written as text instead, results still in user turns.
 */
export function buildConverseMessages(history: readonly HistoryMessage[], options: { toolsAsText?: boolean } = {}): ConverseMessage[] {
  const segments: ConverseMessage[] = []
  const toolNames = new Map<string, string>()
  for (const message of history) {
    for (const segment of splitByRole(message, options.toolsAsText ? toolNames : null)) segments.push(segment)
  }
  let messages = mergeSameRole(segments)
  if (dropUnpairedToolBlocks(messages)) messages = mergeSameRole(messages.filter((message) => message.content.length > 0))
  const firstUser = messages.findIndex((message) => message.role === 'user')
  return firstUser < 0 ? [] : messages.slice(firstUser)
}

/** @deprecated alias kept for existing callers; use buildConverseMessages. */
export const toConverseMessages = buildConverseMessages

/** A tool call or result as text, for a request without tools. */
function toolPartAsText(part: Extract<Part, { type: 'tool_call' | 'tool_result' }>, toolNames: Map<string, string>): ConverseContentBlock {
  if (part.type === 'tool_call') {
    toolNames.set(part.toolUseId, part.name)
    return { text: `[called the tool ${part.name} with ${JSON.stringify(part.input) ?? '{}'}]` }
  }
  const content = typeof part.content === 'string' ? part.content : JSON.stringify(part.content)
  return { text: `[${part.isError ? 'error from' : 'result of'} the tool ${toolNames.get(part.toolUseId) ?? part.toolUseId}: ${content}]` }
}

function splitByRole(message: HistoryMessage, toolNames: Map<string, string> | null): ConverseMessage[] {
  const segments: ConverseMessage[] = []
  let current: ConverseMessage | undefined
  for (const part of message.parts) {
    if (part.type === 'text' && part.text.trim() === '') continue
    if (part.type === 'reasoning' && !part.signature) continue
    const role = part.type === 'tool_result' ? 'user' : message.role
    if (current?.role !== role) {
      current = { role, content: [] }
      segments.push(current)
    }
    current.content.push(toolNames && (part.type === 'tool_call' || part.type === 'tool_result') ? toolPartAsText(part, toolNames) : partToContentBlock(part))
  }
  return segments
}

function mergeSameRole(messages: readonly ConverseMessage[]): ConverseMessage[] {
  const merged: ConverseMessage[] = []
  for (const message of messages) {
    const previous = merged[merged.length - 1]
    if (previous?.role === message.role) previous.content = previous.content.concat(message.content)
    else merged.push({ role: message.role, content: message.content.slice() })
  }
  return merged
}

/** Drops toolUse blocks not answered in the next message and toolResults not asked for in the previous one. */
function dropUnpairedToolBlocks(messages: ConverseMessage[]): boolean {
  let changed = false
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!
    const neighbour = message.role === 'assistant' ? messages[i + 1] : messages[i - 1]
    const kind = message.role === 'assistant' ? 'toolUse' : 'toolResult'
    const otherKind = message.role === 'assistant' ? 'toolResult' : 'toolUse'
    const paired = new Set(neighbour ? toolUseIds(neighbour.content, otherKind) : [])
    const kept = message.content.filter((block) => !(kind in block) || paired.has(toolUseIdOf(block)))
    if (kept.length !== message.content.length) {
      message.content = kept
      changed = true
    }
  }
  return changed
}

function toolUseIds(content: readonly ConverseContentBlock[], kind: 'toolUse' | 'toolResult'): string[] {
  return content.filter((block) => kind in block).map(toolUseIdOf)
}

function toolUseIdOf(block: ConverseContentBlock): string {
  if ('toolUse' in block) return block.toolUse.toolUseId
  if ('toolResult' in block) return block.toolResult.toolUseId
  return ''
}
