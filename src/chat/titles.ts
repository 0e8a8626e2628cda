import { findConversation, setGeneratedTitle, type ConversationRow } from '../db/repositories/conversations'
import { findGeneration, type GenerationRow } from '../db/repositories/generations'
import { findMessage } from '../db/repositories/messages'
import { isTerminal } from '../stream/events'
import { meteredModelCall } from '../governance/model-call'
import type { ModelUsage } from '../models/model-client'
import type { Services } from '../types'
import type { Part } from './parts'

/**
 * The title model's instructions. The Bedrock emulator recognizes a title request by this opening and answers it
 * deterministically (src/bedrock/emulator).
 */
export const TITLE_INSTRUCTIONS =
  'Write a short title for the conversation below: at most six words, in the language of the conversation, with no quotes and no final period. Answer with the title only.'

/** Characters of each message the title model reads, and the most a title keeps. */
const EXCERPT_CHARS = 2_000
const TITLE_CHARS = 80
const TITLE_TIMEOUT_MS = 30_000

/** Whether a turn of this conversation should be followed by a title: none is generated yet and the user set none. */
export function wantsTitle(services: Services, conversation: Pick<ConversationRow, 'titleSource'>): boolean {
  return services.config.GENERATE_TITLES && conversation.titleSource !== 'user' && conversation.titleSource !== 'generated'
}

const textOf = (parts: unknown[]) =>
  (parts as Part[])
    .map((part) => (part.type === 'text' ? part.text : ''))
    .join('\n')
    .trim()
    .slice(0, EXCERPT_CHARS)

/** The model's answer as a title: one line, without wrapping quotes or a final period; null when nothing is left. */
export function cleanTitle(answer: string): string | null {
  let title = answer.replace(/\s+/g, ' ').trim()
  title = title.replace(/^(title|titre|titel|título)\s*:\s*/i, '')
  for (;;) {
    const unwrapped = title.replace(/^["'“”‘’«»`*]+|["'“”‘’«»`*.。]+$/g, '').trim()
    if (unwrapped === title) break
    title = unwrapped
  }
  return title ? Array.from(title).slice(0, TITLE_CHARS).join('') : null
}

/** Waits for the end of a generation this process may not run (its events come through the hub). */
async function followToEnd(services: Services, generationId: string): Promise<void> {
  const events = await services.hub.subscribe(generationId, 0)
  if (!events) return
  for await (const batch of events) if (batch.some((event) => isTerminal(event))) return
}

/**
 * After a turn: once it has completed, asks TITLE_MODEL_ID (default: DEFAULT_MODEL_ID) for a title of its exchange
 * and stores it, unless the user titled the conversation meanwhile. Runs in the background (the turn's waitUntil);
 * a failure keeps the title the conversation had and is logged, never surfacing in the turn.
 */
export async function titleAfterTurn(services: Services, generation: GenerationRow, apiKeyId: string | null, running: Promise<void> | undefined): Promise<void> {
  const { db, logger } = services
  const modelId = services.config.TITLE_MODEL_ID ?? services.config.DEFAULT_MODEL_ID
  try {
    await (running ?? followToEnd(services, generation.id))
    const [finished, conversation] = await Promise.all([findGeneration(db, generation.id), findConversation(db, generation.conversationId)])
    if (finished?.status !== 'completed' || !conversation || !wantsTitle(services, conversation)) return
    const [question, answer] = await Promise.all([findMessage(db, generation.userMessageId), findMessage(db, generation.assistantMessageId)])
    const transcript = [question && `User: ${textOf(question.parts)}`, answer && `Assistant: ${textOf(answer.parts)}`].filter(Boolean).join('\n\n')
    if (!transcript) return

    // Limited and recorded like any model call: one ledger row, the caller's limits checked first.
    const auth = { userId: generation.userId, apiKeyId, workspaceScope: null, scopes: [] }
    const text = await meteredModelCall(services, { auth, workspaceId: conversation.workspaceId, conversationId: conversation.id, modelId }, async () => {
      let answer = ''
      let usage: ModelUsage | null = null
      const stream = await services.models.stream(
        { modelId, system: TITLE_INSTRUCTIONS, messages: [{ role: 'user', parts: [{ type: 'text', text: transcript }], status: 'complete' }], inference: { maxTokens: 32, temperature: 0.2 } },
        { signal: AbortSignal.timeout(TITLE_TIMEOUT_MS) },
      )
      for await (const batch of stream) {
        for (const part of batch) {
          if (part.type === 'textDelta') answer += part.text
          else if (part.type === 'usage') usage = part.usage
        }
      }
      return { result: answer, usage }
    })
    const title = cleanTitle(text)
    if (title) await setGeneratedTitle(db, generation.conversationId, title)
  } catch (error) {
    logger.warn('title generation failed', { conversationId: generation.conversationId, generationId: generation.id, modelId, error: String(error) })
  }
}
