import { AppError, notFound } from '../errors'
import { findConversation } from '../db/repositories/conversations'
import {
  findByIdempotencyKey,
  insertTurn,
  releaseExpiredIdempotencyKey,
  sweepOrphanedGenerations,
  type GenerationRow,
} from '../db/repositories/generations'
import { conversationHistory, findMessage, type MessageRow } from '../db/repositories/messages'
import type { InferenceConfig } from '../bedrock/types'
import type { Part } from '../chat/parts'
import { conversationPath } from '../chat/history'
import type { ChatTurn } from '../chat/chat-task'
import { sha256Hex } from '../lib/crypto'
import type { AuthContext, Services } from '../types'
import { conversationAccess, requireWrite } from './conversation-access'

export const LIMITS = {
  textChars: 100_000,
  parts: 20,
  imageBytes: 3.75 * 1024 * 1024,
  documentBytes: 4.5 * 1024 * 1024,
  images: 20,
  documents: 5,
}

export interface TurnInput {
  content: string | Part[]
  modelId?: string | undefined
  inference?: InferenceConfig | undefined
  parentId?: string | undefined
  /** Retries with the same key (per user, for IDEMPOTENCY_WINDOW_MS) return the same generation. */
  idempotencyKey?: string | undefined
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

const decodedSize = (base64: string) => Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0)

/** User content as parts, within Bedrock's limits: only text, images and documents come from the user. */
export function userParts(content: string | Part[]): Part[] {
  const parts: Part[] = typeof content === 'string' ? [{ type: 'text', text: content }] : content
  if (parts.length === 0) throw invalid('content', 'must not be empty')
  if (parts.length > LIMITS.parts) throw invalid('content', `at most ${LIMITS.parts} parts`)
  let chars = 0
  let images = 0
  let documents = 0
  parts.forEach((part, index) => {
    const path = typeof content === 'string' ? 'content' : `content.${index}`
    if (part.type === 'text') chars += part.text.length
    else if (part.type === 'image') {
      images += 1
      if (decodedSize(part.data) > LIMITS.imageBytes) throw invalid(`${path}.data`, 'images must be at most 3.75 MB')
    } else if (part.type === 'document') {
      documents += 1
      if (decodedSize(part.data) > LIMITS.documentBytes) throw invalid(`${path}.data`, 'documents must be at most 4.5 MB')
    } else throw invalid(`${path}.type`, `"${part.type}" parts cannot be sent by a user`)
  })
  if (chars > LIMITS.textChars) throw invalid('content', `text must be at most ${LIMITS.textChars} characters`)
  if (!parts.some((part) => part.type !== 'text' || part.text.trim() !== '')) throw invalid('content', 'must not be empty')
  if (images > LIMITS.images) throw invalid('content', `at most ${LIMITS.images} images`)
  if (documents > LIMITS.documents) throw invalid('content', `at most ${LIMITS.documents} documents`)
  return parts
}

export function resolveModel(services: Services, ...candidates: (string | null | undefined)[]): string {
  const modelId = candidates.find((candidate) => candidate) ?? services.config.DEFAULT_MODEL_ID
  const allowed = services.config.MODEL_IDS
  if (allowed.length > 0 && !allowed.includes(modelId)) {
    throw invalid('modelId', `"${modelId}" is not one of the configured models: ${allowed.join(', ')}`)
  }
  return modelId
}

export interface StartedTurn {
  generation: GenerationRow
  userMessage: MessageRow
  assistantMessage: MessageRow
  /** True when an Idempotency-Key matched an earlier turn: nothing new was started. */
  replayed: boolean
}

/** The earlier turn with this key, or 422 when the key was used for a different request. */
async function idempotentReplay(services: Services, userId: string, key: string, requestHash: string): Promise<StartedTurn | null> {
  const generation = await findByIdempotencyKey(services.db, userId, key, new Date(services.now().getTime() - IDEMPOTENCY_WINDOW_MS))
  if (!generation) return null
  if (generation.requestHash !== requestHash) {
    throw new AppError('idempotency_mismatch', 'This Idempotency-Key was already used with a different request')
  }
  const [userMessage, assistantMessage] = await Promise.all([
    findMessage(services.db, generation.userMessageId),
    findMessage(services.db, generation.assistantMessageId),
  ])
  if (!userMessage || !assistantMessage) throw notFound('Message')
  return { generation, userMessage, assistantMessage, replayed: true }
}

/**
 * Commits the user message and a streaming assistant placeholder, claims the conversation (one active
 * generation), then starts the chat producer detached in the hub.
 */
export async function startTurn(services: Services, auth: AuthContext, conversationId: string, input: TurnInput): Promise<StartedTurn> {
  const access = await conversationAccess(services, auth, conversationId)
  requireWrite(access)
  const { conversation } = access
  const parts = userParts(input.content)
  const modelId = resolveModel(services, input.modelId, conversation.modelId)
  const key = input.idempotencyKey
  const requestHash = key
    ? await sha256Hex(JSON.stringify([conversation.id, input.content, input.modelId ?? null, input.inference ?? null, input.parentId ?? null]))
    : null
  if (key && requestHash) {
    const replay = await idempotentReplay(services, auth.userId, key, requestHash)
    if (replay) return replay
    await releaseExpiredIdempotencyKey(services.db, auth.userId, key, new Date(services.now().getTime() - IDEMPOTENCY_WINDOW_MS))
  }

  const stored = await conversationHistory(services.db, conversation.id)
  if (input.parentId && !stored.some((message) => message.id === input.parentId)) throw notFound('Parent message')
  const parentId = input.parentId ?? stored[stored.length - 1]?.id ?? null

  const now = services.now()
  const generationId = services.newId('gen')
  const title = conversation.title ? null : (parts.find((part) => part.type === 'text')?.text.trim().replace(/\s+/g, ' ').slice(0, 80) || null)

  const userMessage: MessageRow = {
    id: services.newId('msg'),
    conversationId: conversation.id,
    parentId,
    role: 'user',
    parts,
    status: 'complete',
    modelId: null,
    inputTokens: null,
    outputTokens: null,
    stopReason: null,
    latencyMs: null,
    feedbackRating: null,
    feedbackComment: null,
    createdAt: now,
    updatedAt: now,
  }
  const assistantMessage: MessageRow = { ...userMessage, id: services.newId('msg'), parentId: userMessage.id, role: 'assistant', parts: [], status: 'streaming', modelId }
  const generation: GenerationRow = {
    id: generationId,
    conversationId: conversation.id,
    userId: auth.userId,
    userMessageId: userMessage.id,
    assistantMessageId: assistantMessage.id,
    status: 'running',
    modelId,
    idempotencyKey: key ?? null,
    requestHash,
    inputTokens: null,
    outputTokens: null,
    errorCode: null,
    startedAt: now,
    finishedAt: null,
  }
  const started = await insertTurn(services.db, { userMessage, assistantMessage, generation, titleIfUntitled: title }).catch((error: unknown) => error)
  if (started !== true) {
    // Busy, or a concurrent retry with the same Idempotency-Key won its unique index: then attach to that turn.
    const replay = key && requestHash ? await idempotentReplay(services, auth.userId, key, requestHash) : null
    if (replay) return replay
    if (started !== false) throw started
    const active = (await findConversation(services.db, conversation.id))?.activeGenerationId ?? conversation.activeGenerationId
    throw new AppError('conflict', 'A generation is already running in this conversation', { members: { activeGenerationId: active } })
  }

  const history = [...conversationPath(stored, parentId), userMessage]
  try {
    const chat: ChatTurn = {
      generation,
      history,
      systemPrompt: conversation.systemPrompt,
      inference: { maxTokens: services.config.DEFAULT_MAX_TOKENS, ...input.inference },
    }
    await services.hub.start({ generationId, conversationId: conversation.id, task: 'chat', input: chat })
  } catch (error) {
    await sweepOrphanedGenerations(services.db, services.now(), [generationId])
    throw error
  }
  return { generation, userMessage, assistantMessage, replayed: false }
}
