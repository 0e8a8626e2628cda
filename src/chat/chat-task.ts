import { z } from '@hono/zod-openapi'
import type { Database } from '../db/database'
import { findConversation } from '../db/repositories/conversations'
import { findGeneration, sweepOrphanedGenerations, type GenerationRow } from '../db/repositories/generations'
import { checkpointMessage, findMessage, messageParts, type HistoryMessage } from '../db/repositories/messages'
import type { InferenceConfig, ModelRequest, ToolDefinition } from '../models/model-client'
import type { GenerationEvent, SequencedEvent } from '../stream/events'
import { defineTask, interruptedEvent } from '../stream/tasks'
import type { Services } from '../types'
import { hasMediaStubs } from './history'
import type { Part } from './parts'
import { conversationStore } from './persistence'
import { turnProducer } from './turn-producer'
import { createToolset, toolLimits, type Toolset } from '../tools/toolset'
import { withFileBytes } from '../services/files'

/** The `chat` task's input: a stored turn of a conversation. */
export interface ChatTurn {
  generation: GenerationRow
  /** The API key that started the turn (its usage is recorded for it). */
  apiKeyId?: string | null | undefined
  /** The conversation's workspace: billed for the turn, and whose MCP servers its tools come from (absent in turns
   * started before it was passed: looked up for billing). */
  workspaceId?: string | null | undefined
  /** The chain fitted to the model (fitHistory), media without their bytes (loaded when the request is built). */
  history: HistoryMessage[]
  systemPrompt: string | null
  inference: InferenceConfig
  /** Server-side tools by name, and client-side tools declared by the turn. */
  tools?: string[] | undefined
  clientTools?: ToolDefinition[] | undefined
  /** How the model picks among the tools, and structured output (the Responses API). */
  toolChoice?: ModelRequest['toolChoice']
  textFormat?: ModelRequest['textFormat']
}

/** Checked where the task runs (it crosses the Durable Object RPC boundary): the fields the turn reads. */
const ChatTurnSchema = z.looseObject({
  generation: z.looseObject({
    id: z.string(),
    conversationId: z.string(),
    userId: z.string(),
    userMessageId: z.string(),
    assistantMessageId: z.string(),
    modelId: z.string(),
  }),
  apiKeyId: z.string().nullish(),
  workspaceId: z.string().nullish(),
  history: z.array(z.looseObject({ id: z.string(), role: z.enum(['user', 'assistant']), parts: z.array(z.unknown()), status: z.string() })),
  systemPrompt: z.string().nullable(),
  inference: z.looseObject({}),
  tools: z.array(z.string()).optional(),
  clientTools: z.array(z.looseObject({ name: z.string(), inputSchema: z.unknown() })).optional(),
}) as unknown as z.ZodType<ChatTurn>

export function startedEvent(generation: GenerationRow): GenerationEvent {
  return {
    type: 'generation.started',
    data: {
      generationId: generation.id,
      conversationId: generation.conversationId,
      userMessageId: generation.userMessageId,
      assistantMessageId: generation.assistantMessageId,
      modelId: generation.modelId,
    },
  }
}

/** The history with the bytes of the media it keeps, read from the database now. */
async function withMedia(db: Database, history: readonly HistoryMessage[]): Promise<HistoryMessage[]> {
  const stored = await messageParts(
    db,
    history.filter((message) => hasMediaStubs(message.parts)).map((message) => message.id),
  )
  return history.map((message) => {
    const parts = stored.get(message.id)
    return parts ? { ...message, parts } : message
  })
}

async function modelRequest(services: Services, turn: ChatTurn, toolset: Toolset | null): Promise<ModelRequest> {
  const history = await withFileBytes(services, await withMedia(services.db, turn.history))
  return {
    modelId: turn.generation.modelId,
    system: turn.systemPrompt,
    messages: history.map((message) => ({ role: message.role, parts: message.parts as Part[], status: message.status })),
    inference: turn.inference,
    ...(toolset?.definitions.length ? { tools: toolset.definitions, ...(turn.toolChoice ? { toolChoice: turn.toolChoice } : {}) } : {}),
    ...(turn.textFormat ? { textFormat: turn.textFormat } : {}),
  }
}

/** The turn's tools, resolved where the turn runs (an MCP server's list is read now); null without any. */
async function turnToolset(services: Services, turn: ChatTurn): Promise<Toolset | null> {
  if (!turn.tools?.length && !turn.clientTools?.length) return null
  const server = turn.tools?.length && turn.workspaceId ? await services.tools.resolve(turn.workspaceId, turn.tools) : []
  return createToolset(server, turn.clientTools ?? [], toolLimits(services.config))
}

const textOf = (parts: readonly Part[]) => parts.map((part) => (part.type === 'text' ? part.text : '')).join('')

/**
 * The parts a text-only turn had reached, rebuilt from its stored events; null when the turn had other content
 * (reasoning, tools), whose structure only the last checkpoint keeps.
 */
function loggedTextParts(events: readonly SequencedEvent[]): Part[] | null {
  let text = ''
  for (const event of events) {
    if (event.type === 'text.delta') text += event.data.delta
    else if (event.type === 'reasoning.delta' || event.type === 'tool.call' || event.type === 'tool.result') return null
  }
  return text ? [{ type: 'text', text }] : []
}

/**
 * Ends an interrupted chat turn: finalizes it in the database if it is still running there (incomplete, keeping the
 * most partial text available), then returns the events that end its stream as the database tells it. The previous
 * producer may have outlived its event storage (a Worker deploy leaves in-flight work 30 s, storage stops at once)
 * and finished the turn itself; either way the stream's text ends up equal to the stored message's text: the part
 * the stored events lack is sent as one last delta, then the outcome.
 */
async function endInterruptedChat(services: Services, generationId: string, events: readonly SequencedEvent[]): Promise<GenerationEvent[]> {
  const { db } = services
  let generation = await findGeneration(db, generationId)
  if (!generation) return [interruptedEvent(generationId)]
  if (generation.status === 'running') {
    const message = await findMessage(db, generation.assistantMessageId)
    const logged = loggedTextParts(events)
    if (message?.status === 'streaming' && logged) {
      const checkpointed = message.parts as Part[]
      if (checkpointed.every((part) => part.type === 'text') && textOf(logged).length > textOf(checkpointed).length) {
        await checkpointMessage(db, message.id, logged, services.now())
      }
    }
    await sweepOrphanedGenerations(db, services.now(), [generationId])
    // What the turn's limit check held (a concurrency slot, its possible spend) would otherwise wait for its expiry.
    const workspaceId = (await findConversation(db, generation.conversationId))?.workspaceId
    const auth = { userId: generation.userId, apiKeyId: message?.apiKeyId ?? null, workspaceScope: null, scopes: [] }
    if (workspaceId) await services.governance.releaseLimits({ auth, modelId: generation.modelId, conversationId: generation.conversationId, workspaceId, generationId })
    generation = (await findGeneration(db, generationId)) ?? generation
  }
  const message = await findMessage(db, generation.assistantMessageId)
  const streamed = events.map((event) => (event.type === 'text.delta' ? event.data.delta : '')).join('')
  const stored = message ? textOf(message.parts as Part[]) : ''
  const ending: GenerationEvent[] = []
  if (stored.length > streamed.length && stored.startsWith(streamed)) ending.push({ type: 'text.delta', data: { generationId, delta: stored.slice(streamed.length) } })
  const usage = { inputTokens: generation.inputTokens ?? 0, outputTokens: generation.outputTokens ?? 0 }
  if (generation.inputTokens !== null && !events.some((event) => event.type === 'usage')) ending.push({ type: 'usage', data: { generationId, ...usage } })
  if (generation.status === 'completed') {
    ending.push({
      type: 'generation.completed',
      data: { generationId, assistantMessageId: generation.assistantMessageId, stopReason: message?.stopReason ?? 'end_turn', usage, latencyMs: message?.latencyMs ?? 0 },
    })
  } else if (generation.status === 'cancelled') {
    ending.push({ type: 'generation.cancelled', data: { generationId } })
  } else if (generation.status === 'failed' && generation.errorCode && generation.errorCode !== 'interrupted') {
    ending.push({ type: 'generation.failed', data: { generationId, code: generation.errorCode, message: `The generation failed (${generation.errorCode})`, retryable: false } })
  } else {
    ending.push(interruptedEvent(generationId))
  }
  return ending
}

/**
 * The `chat` task: a conversation's turn — history → model → events, checkpointing the partial answer, then one
 * final write. Persist, then announce: the terminal event is emitted only after the message is finalized.
 */
export const chatTask = defineTask<Services, ChatTurn>({
  name: 'chat',
  description: 'A conversation turn: the model answers the history, calling the turn’s tools in a bounded loop',
  input: ChatTurnSchema,
  run(services, turn, context) {
    const { generation } = turn
    let toolset: Toolset | null = null
    return turnProducer(
      services,
      {
        generationId: generation.id,
        modelId: generation.modelId,
        started: startedEvent(generation),
        assistantMessageId: generation.assistantMessageId,
        request: async () => modelRequest(services, turn, (toolset = await turnToolset(services, turn))),
        tools: () => toolset,
        account: { workspaceId: turn.workspaceId ?? null, userId: generation.userId, apiKeyId: turn.apiKeyId ?? null, conversationId: generation.conversationId },
      },
      conversationStore(services, generation),
    )(context)
  },
  recover: endInterruptedChat,
})
