import type { ConverseContentBlock, StopReason } from '../types'
import type { Directives } from './directives'

/** Everything the emulator says for one request; Converse and ConverseStream render the same script. */
export interface ScriptedAnswer {
  reasoning?: { deltas: string[]; signature: string }
  textDeltas: string[]
  tools?: { toolUseId: string; name: string; input: unknown; inputChunks: string[] }[]
  /** Mid-stream exception (camelCase wire type) raised after this many text deltas. */
  failure?: { afterTextDeltas: number; exceptionType: string; message?: string }
  stopReason: StopReason
  outputTokens: number
  ttftMs: number
  delayMs: number
}

const FILLER =
  'the quick brown fox jumps over a lazy dog while seven wizards quietly box jumping zebras near old stone bridges under pale morning light and rivers hum softly'.split(
    ' ',
  )

/**
 * A deterministic answer to `text` (the last user message, directives included) — same text,
 * same answer. `prompt` is that text without its directives; `json`, when the request asked for structured output, is
 * the answer's text instead (in deltas of up to 8 characters).
 */
export function scriptAnswer(text: string, prompt: string, directives: Directives, maxTokens?: number, json?: string): ScriptedAnswer {
  const seed = fnv1a(text)
  let textDeltas = json !== undefined ? (json.match(/[^]{1,8}/g) ?? []) : directives.tokens === undefined ? echoDeltas(prompt) : fillerDeltas(seed, directives.tokens)
  let stopReason: StopReason = directives.tools ? 'tool_use' : 'end_turn'
  if (maxTokens !== undefined && maxTokens < textDeltas.length) {
    textDeltas = textDeltas.slice(0, maxTokens)
    stopReason = 'max_tokens'
  }
  const answer: ScriptedAnswer = {
    textDeltas,
    stopReason,
    outputTokens: textDeltas.length,
    ttftMs: directives.ttftMs ?? 0,
    delayMs: directives.delayMs ?? 0,
  }
  if (directives.reasoning) {
    const deltas = ['Thinking', ' about', ` "${prompt.split(' ')[0] || 'nothing'}"`, ' before', ' answering.']
    answer.reasoning = { deltas, signature: signatureFor(seed) }
    answer.outputTokens += deltas.length
  }
  if (directives.tools && stopReason !== 'max_tokens') {
    answer.tools = directives.tools.map((tool, i) => {
      const inputChunks = splitInTwoOrMore(JSON.stringify(tool.input) ?? '{}')
      answer.outputTokens += inputChunks.length
      return { toolUseId: `tooluse_${seed.toString(36)}${(seed >>> 7).toString(36)}${i === 0 ? '' : `_${i}`}`, name: tool.name, input: tool.input, inputChunks }
    })
  }
  if (directives.failAfter !== undefined) {
    const type = directives.failWith ?? 'modelStreamErrorException'
    answer.failure = {
      afterTextDeltas: Math.min(directives.failAfter, textDeltas.length),
      exceptionType: type.charAt(0).toLowerCase() + type.slice(1),
      ...(directives.errorMessage ? { message: directives.errorMessage } : {}),
    }
  }
  return answer
}

/**
 * The answer after tool results: text holding each result verbatim (`calculator` on 6*7 answers "… 42"), paced by
 * the prompt's delay directives.
 */
export function resultsAnswer(results: readonly string[], directives: Directives): ScriptedAnswer {
  const textDeltas = ['Tool results:', ...results.map((result, i) => `${i === 0 ? ' ' : ' | '}${result}`)]
  return { textDeltas, stopReason: 'end_turn', outputTokens: textDeltas.length, ttftMs: directives.ttftMs ?? 0, delayMs: directives.delayMs ?? 0 }
}

/** How a conversation title request's system prompt opens (src/chat/titles.ts TITLE_INSTRUCTIONS). */
export const TITLE_REQUEST = 'Write a short title for the conversation below'

/**
 * A title request's answer: the first six words of the transcript's first paragraph (its `User:` label left out),
 * in quotes as models often add them — `"Plan a trip to Lisbon"`.
 */
export function titleAnswer(transcript: string): ScriptedAnswer {
  const words = (transcript.split(/\n\s*\n/)[0] ?? '')
    .split(/\s+/)
    .filter((word) => word && !word.endsWith(':'))
    .slice(0, 6)
  const title = `"${words.join(' ') || 'Untitled'}"`
  const textDeltas = title.split(/(?= )/)
  return { textDeltas, stopReason: 'end_turn', outputTokens: textDeltas.length, ttftMs: 0, delayMs: 0 }
}

/** The answer as Converse content blocks (reasoning, text, toolUse — the stream's block order). */
export function contentBlocks(answer: ScriptedAnswer): ConverseContentBlock[] {
  const blocks: ConverseContentBlock[] = []
  if (answer.reasoning) blocks.push({ reasoningContent: { reasoningText: { text: answer.reasoning.deltas.join(''), signature: answer.reasoning.signature } } })
  if (answer.textDeltas.length > 0) blocks.push({ text: answer.textDeltas.join('') })
  for (const tool of answer.tools ?? []) blocks.push({ toolUse: { toolUseId: tool.toolUseId, name: tool.name, input: tool.input } })
  return blocks
}

/** 8–11 deltas: `You said: "<up to 4 words of the prompt>". This is the Bedrock emulator.` */
function echoDeltas(prompt: string): string[] {
  const words = prompt
    .split(' ')
    .filter(Boolean)
    .slice(0, 4)
    .map((word) => word.slice(0, 24))
  const echoed = words.length === 0 ? [' nothing.'] : words.map((word, i) => `${i === 0 ? ' "' : ' '}${word}${i === words.length - 1 ? '".' : ''}`)
  return ['You', ' said:', ...echoed, ' This', ' is', ' the', ' Bedrock', ' emulator.']
}

function fillerDeltas(seed: number, count: number): string[] {
  const deltas: string[] = new Array(count)
  for (let i = 0; i < count; i++) deltas[i] = (i === 0 ? '' : ' ') + FILLER[(seed + i * 7) % FILLER.length]
  return deltas
}

function splitInTwoOrMore(json: string): string[] {
  if (json.length < 2) return ['', json]
  const size = Math.ceil(json.length / Math.min(3, json.length))
  const chunks: string[] = []
  for (let at = 0; at < json.length; at += size) chunks.push(json.slice(at, at + size))
  return chunks
}

function signatureFor(seed: number): string {
  const bytes = new Uint8Array(32)
  let state = seed || 1
  for (let i = 0; i < bytes.length; i++) {
    state = Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) >>> 0
    bytes[i] = state & 0xff
  }
  return btoa(String.fromCharCode(...bytes))
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193)
  return hash >>> 0
}
