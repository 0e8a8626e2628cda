import { AppError, notFound } from '../errors'
import { findConversation, type ConversationRow } from '../db/repositories/conversations'
import {
  findByIdempotencyKey,
  insertTurn,
  releaseExpiredIdempotencyKey,
  releaseIdempotencyKey,
  sweepOrphanedGenerations,
  type GenerationRow,
} from '../db/repositories/generations'
import { conversationChain, findMessage, partsBytes, type MessageRow } from '../db/repositories/messages'
import type { InferenceConfig } from '../models/model-client'
import type { Part } from './parts'
import { estimateTokens, fitHistory, REQUEST_MEDIA_LIMITS, stripMedia } from './history'
import type { ChatTurn } from './chat-task'
import type { TurnRequest } from './governance'
import { titleAfterTurn, wantsTitle } from './titles'
import { discardMovedMedia, storeTurnMedia } from '../services/files'
import { sha256Hex } from '../lib/crypto'
import { contextTokensFor, inferenceFor, resolveModelId } from '../models/resolve'
import type { AuthContext, Services } from '../types'
import { conversationAccess, requireWrite } from '../services/conversation-access'
import { checkToolResults, planTurnTools, type TurnTool, type TurnToolPlan } from '../tools/turn-tools'

export const LIMITS = {
  textChars: 100_000,
  parts: 20,
  imageBytes: 3.75 * 1024 * 1024,
  documentBytes: 4.5 * 1024 * 1024,
  images: REQUEST_MEDIA_LIMITS.images,
  documents: REQUEST_MEDIA_LIMITS.documents,
}

export interface TurnInput {
  content: string | Part[]
  modelId?: string | undefined
  inference?: InferenceConfig | undefined
  /** The message this turn follows: unset, the conversation's latest; null, none (a new first message: an edit of it). */
  parentId?: string | null | undefined
  /** Retries with the same key (per user, for IDEMPOTENCY_WINDOW_MS) return the same generation. */
  idempotencyKey?: string | undefined
  /** This turn's system prompt instead of the conversation's (null: none). */
  systemPrompt?: string | null | undefined
  /** Tools besides the conversation's (server-side by name, client-side declared), and the task to run. */
  tools?: TurnTool[] | undefined
  task?: string | undefined
  /** How the model picks among the tools, and structured output (ChatTurn). */
  model?: Pick<ChatTurn, 'toolChoice' | 'textFormat'> | undefined
}

export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

const decodedSize = (base64: string) => Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0)

/** User content as parts, within Bedrock's limits: text, images, documents, and results of client-side tools. */
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
      if (part.data !== undefined && decodedSize(part.data) > LIMITS.imageBytes) throw invalid(`${path}.data`, 'images must be at most 3.75 MB')
    } else if (part.type === 'document') {
      documents += 1
      if (part.data !== undefined && decodedSize(part.data) > LIMITS.documentBytes) throw invalid(`${path}.data`, 'documents must be at most 4.5 MB')
    } else if (part.type !== 'tool_result') throw invalid(`${path}.type`, `"${part.type}" parts cannot be sent by a user`)
  })
  if (chars > LIMITS.textChars) throw invalid('content', `text must be at most ${LIMITS.textChars} characters`)
  if (!parts.some((part) => part.type !== 'text' || part.text.trim() !== '')) throw invalid('content', 'must not be empty')
  if (images > LIMITS.images) throw invalid('content', `at most ${LIMITS.images} images`)
  if (documents > LIMITS.documents) throw invalid('content', `at most ${LIMITS.documents} documents`)
  return parts
}

/** The turn's model, else the conversation's, else DEFAULT_MODEL_ID: 400 unless the catalog or MODEL_IDS has it. */
export function resolveModel(services: Services, ...candidates: (string | null | undefined)[]): string {
  return resolveModelId(services.config, ...candidates)
}

const MIB = 1024 * 1024

const conversationFull = (maxBytes: number) =>
  new AppError(
    'payload_too_large',
    `This conversation is full: it may store at most ${maxBytes % MIB === 0 ? `${maxBytes / MIB} MiB` : `${maxBytes} bytes`} of messages. Start a new conversation to continue.`,
  )

export interface StartedTurn {
  generation: GenerationRow
  userMessage: MessageRow
  assistantMessage: MessageRow
  /** True when an Idempotency-Key matched an earlier turn: nothing new was started. */
  replayed: boolean
}

/**
 * Failures worth retrying do not pin their Idempotency-Key: a retry with it answers the same user message again (a
 * 429's Retry-After would otherwise be answered with the same 429 for the key's whole window).
 */
const RETRYABLE_FAILURES: ReadonlySet<string> = new Set(['rate_limited', 'upstream_timeout', 'upstream_error', 'interrupted'])

const retryable = (generation: GenerationRow) => generation.status === 'failed' && RETRYABLE_FAILURES.has(generation.errorCode ?? '')

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

/** What the caller's runtime lends a turn. */
export interface TurnOptions {
  /**
   * Keeps the runtime working on the detached producer after the response is sent (a Worker's `ctx.waitUntil`);
   * Node and Bun pass a no-op. Called with the producer's promise, once per started turn, and with the title's
   * (titles.ts) after a conversation's first turns.
   */
  waitUntil: (promise: Promise<unknown>) => void
}

/**
 * The whole turn: resolves what it runs with (model, inference, history), checks the caller's limits (governance),
 * commits the user message and a streaming assistant placeholder, claims the conversation (one active generation),
 * then starts the `chat` task detached in the hub and hands its promise to `waitUntil`. The task stores the outcome
 * and records the usage.
 */
export async function startTurn(services: Services, auth: AuthContext, conversationId: string, input: TurnInput, options: TurnOptions): Promise<StartedTurn> {
  const access = await conversationAccess(services, auth, conversationId)
  requireWrite(access)
  const { conversation } = access
  const parts = userParts(input.content)
  const modelId = resolveModel(services, input.modelId, conversation.modelId)
  const tools = await planTurnTools(services, conversation, input)
  const key = input.idempotencyKey
  const requestHash = key
    ? await sha256Hex(JSON.stringify([conversation.id, input.content, input.modelId ?? null, input.inference ?? null, input.parentId ?? null, ...(input.tools || input.task ? [input.tools ?? null, input.task ?? null] : [])]))
    : null
  let retrying: MessageRow | null = null
  if (key && requestHash) {
    const replay = await idempotentReplay(services, auth.userId, key, requestHash)
    if (replay && !retryable(replay.generation)) return replay
    if (replay) {
      await releaseIdempotencyKey(services.db, replay.generation.id)
      retrying = replay.userMessage
    } else await releaseExpiredIdempotencyKey(services.db, auth.userId, key, new Date(services.now().getTime() - IDEMPOTENCY_WINDOW_MS))
  }
  // Files named by parts are checked; large inline media moves to the blob store (nothing of it is stored inline).
  const stored = retrying ? parts : await storeTurnMedia(services, auth, conversation, parts)
  try {
    return await beginTurn(
      services,
      auth,
      conversation,
      { parts: stored, reply: retrying, parentId: input.parentId, modelId, inference: input.inference, key, requestHash, tools, systemPrompt: input.systemPrompt, model: input.model },
      options,
    )
  } catch (error) {
    // Refused (busy, full, over a limit): the media it moved is no one's.
    await discardMovedMedia(services, parts, stored)
    throw error
  }
}

export interface RegenerateInput {
  /** The user message to answer again: a new assistant message beside the earlier answers, nothing overwritten. */
  userMessageId: string
  modelId?: string | undefined
  inference?: InferenceConfig | undefined
}

/** Runs the model again for a stored user message of the conversation (a regenerate). */
export async function regenerateTurn(services: Services, auth: AuthContext, conversationId: string, input: RegenerateInput, options: TurnOptions): Promise<StartedTurn> {
  const access = await conversationAccess(services, auth, conversationId)
  requireWrite(access)
  const { conversation } = access
  const message = await findMessage(services.db, input.userMessageId)
  if (!message || message.conversationId !== conversation.id || message.role !== 'user') throw notFound('Message')
  const modelId = resolveModel(services, input.modelId, conversation.modelId)
  const tools = await planTurnTools(services, conversation, {})
  return beginTurn(services, auth, conversation, { parts: message.parts as Part[], reply: message, modelId, inference: input.inference, key: undefined, requestHash: null, tools }, options)
}

interface TurnPlan {
  /** The user's parts: a new message's, or those of `reply`. */
  parts: Part[]
  /** A stored user message this turn answers again (no new user message), or null for a new one. */
  reply: MessageRow | null
  parentId?: string | null | undefined
  modelId: string
  inference: InferenceConfig | undefined
  key: string | undefined
  requestHash: string | null
  tools: TurnToolPlan
  systemPrompt?: string | null | undefined
  model?: TurnInput['model']
}

async function beginTurn(services: Services, auth: AuthContext, conversation: ConversationRow, plan: TurnPlan, options: TurnOptions): Promise<StartedTurn> {
  const limits: TurnRequest = { auth, modelId: plan.modelId, conversationId: conversation.id, workspaceId: conversation.workspaceId, generationId: services.newId('gen') }
  await services.governance.checkLimits(limits)
  // What the check held is given back unless the turn starts (a conflict, a full conversation, a replay).
  const started = await admittedTurn(services, auth, conversation, plan, options, limits.generationId).catch(async (error: unknown) => {
    await services.governance.releaseLimits(limits)
    throw error
  })
  if (started.replayed) await services.governance.releaseLimits(limits)
  return started
}

async function admittedTurn(services: Services, auth: AuthContext, conversation: ConversationRow, plan: TurnPlan, options: TurnOptions, generationId: string): Promise<StartedTurn> {
  const { parts, reply: retrying, modelId, key, requestHash } = plan
  const addedBytes = (retrying ? 0 : partsBytes(parts)) + partsBytes([])
  const maxBytes = services.config.MAX_CONVERSATION_BYTES
  if (conversation.storedBytes + addedBytes > maxBytes) throw conversationFull(maxBytes)

  // Without a parentId, the turn continues the branch shown (the conversation's current leaf).
  const leafId = retrying ? retrying.parentId : plan.parentId === undefined ? (conversation.currentLeafId ?? undefined) : plan.parentId
  const chain = leafId === null ? [] : await conversationChain(services.db, conversation.id, leafId ?? null)
  if (leafId && chain.length === 0) throw notFound('Parent message')
  if (!retrying) checkToolResults(parts, chain[chain.length - 1])
  const parentId = chain[chain.length - 1]?.id ?? null

  const now = services.now()
  const title = conversation.title ? null : (Array.from(parts.find((part) => part.type === 'text')?.text.trim().replace(/\s+/g, ' ') ?? '').slice(0, 80).join('') || null)

  const userMessage: MessageRow = retrying ?? {
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
    userId: auth.userId,
    apiKeyId: auth.apiKeyId,
    metadata: null,
    createdAt: now,
    updatedAt: now,
  }
  const inference = inferenceFor(services.config, modelId, { ...conversation.inference, ...plan.inference })
  const systemPrompt = plan.systemPrompt !== undefined ? plan.systemPrompt : conversation.systemPrompt
  const systemTokens = systemPrompt ? estimateTokens([{ type: 'text', text: systemPrompt }]) : 0
  const budget = contextTokensFor(services.config, modelId) - (inference.maxTokens ?? services.config.DEFAULT_MAX_TOKENS) - systemTokens
  const fitted = fitHistory([...chain, { id: userMessage.id, parentId, role: 'user', parts: stripMedia(parts), status: 'complete' }], budget)
  const assistantMessage: MessageRow = {
    ...userMessage,
    id: services.newId('msg'),
    parentId: userMessage.id,
    role: 'assistant',
    userId: auth.userId,
    apiKeyId: auth.apiKeyId,
    createdAt: now,
    updatedAt: now,
    parts: [],
    status: 'streaming',
    modelId,
    metadata: fitted.omitted ? { context: fitted.omitted } : null,
  }
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
    ownerId: services.hub.ownerId ?? null,
  }
  const started = await insertTurn(services.db, {
    userMessage: retrying ? null : userMessage,
    assistantMessage,
    generation,
    titleIfUntitled: title,
    addedBytes,
    maxBytes,
  }).catch(
    (error: unknown) => error,
  )
  if (started !== true) {
    // Busy or full, or a concurrent retry with the same Idempotency-Key won its unique index: then attach to that turn.
    const replay = key && requestHash ? await idempotentReplay(services, auth.userId, key, requestHash) : null
    if (replay) return replay
    if (started !== false) throw started
    const current = await findConversation(services.db, conversation.id)
    const active = current ? current.activeGenerationId : conversation.activeGenerationId
    if (current && !active && current.storedBytes + addedBytes > maxBytes) throw conversationFull(maxBytes)
    throw new AppError('conflict', 'A generation is already running in this conversation', { members: { activeGenerationId: active } })
  }

  try {
    // Media bytes stay in the database until the producer builds the model request.
    const { task, ...tools } = plan.tools
    const chat: ChatTurn = { generation, apiKeyId: auth.apiKeyId, history: fitted.messages, systemPrompt, inference, ...tools, ...plan.model }
    await services.hub.start({ generationId, conversationId: conversation.id, task, input: chat })
  } catch (error) {
    await sweepOrphanedGenerations(services.db, services.now(), [generationId])
    throw error
  }
  const running = services.hub.running(generationId)
  if (running) options.waitUntil(running)
  if (wantsTitle(services, conversation)) options.waitUntil(titleAfterTurn(services, generation, auth.apiKeyId, running))
  return { generation, userMessage, assistantMessage, replayed: false }
}
