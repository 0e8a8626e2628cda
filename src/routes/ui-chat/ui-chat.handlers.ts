import type { Context } from 'hono'
import type { z } from '@hono/zod-openapi'
import { findMessage, latestUserChild, type MessageRow } from '../../db/repositories/messages'
import { AppError, notFound } from '../../errors'
import { UI_MESSAGE_STREAM_HEADERS, uiMessageStream } from '../../protocols/ui-message-stream'
import { conversationAccess, requireManage, requireWrite } from '../../services/conversation-access'
import { regenerateTurn, startTurn, type StartedTurn, type TurnOptions } from '../../chat/turns'
import type { SequencedEvent } from '../../stream/events'
import { untilEnded } from '../../stream/until-ended'
import type { AppEnv, AppRouteHandler, AuthContext, Services } from '../../types'
import { waitUntil } from '../generations/event-stream'
import { conversationForChat, conversationOfChat } from './chat-ids'
import { partsOfUserMessage } from './ui-message-parts'
import type * as routes from './ui-chat.routes'

type ChatRequest = z.infer<typeof routes.ChatRequestSchema>

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

const streamResponse = (c: Context<AppEnv>, events: AsyncIterable<SequencedEvent[]>) => c.body(uiMessageStream(events), 200, UI_MESSAGE_STREAM_HEADERS)

export const chat: AppRouteHandler<typeof routes.chat> = async (c) => {
  const services = c.var.services
  const auth = c.var.auth
  const body = c.req.valid('json')
  const conversationId = await conversationForChat(services, auth, body.id, body)
  requireWrite(await conversationAccess(services, auth, conversationId))
  const options: TurnOptions = { waitUntil: waitUntil(c) }
  const turn = body.trigger === 'regenerate-message' ? await regenerate(services, auth, conversationId, body, options) : await submit(services, auth, conversationId, body, options)
  const events = await services.hub.subscribe(turn.generation.id, 0)
  if (!events) throw new AppError('internal', 'The generation could not be followed')
  return streamResponse(c, events) as never
}

/** One of this conversation's stored messages, by the id a client sent (ids the server never gave are unknown). */
async function stored(services: Services, conversationId: string, id: string | undefined): Promise<MessageRow | null> {
  if (!id) return null
  const message = await findMessage(services.db, id)
  return message?.conversationId === conversationId ? message : null
}

/**
 * The stored message a client's message follows: the one before it in the client's list. Assistant ids are always
 * ours (the `start` chunk gives them); user ids are ours only after a reload, so they are placed by what precedes them.
 * Null for a first message; 404 when the message before it is not stored here.
 */
async function storedPredecessor(services: Services, conversationId: string, messages: ChatRequest['messages'], index: number): Promise<MessageRow | null> {
  const previous = messages[index - 1]
  if (!previous) return null
  const message = await stored(services, conversationId, previous.id)
  if (!message) throw new AppError('not_found', `Message ${previous.id.slice(0, 100)} is not in this chat: send the messages this server gave`)
  return message
}

async function submit(services: Services, auth: AuthContext, conversationId: string, body: ChatRequest, options: TurnOptions): Promise<StartedTurn> {
  const index = body.messages.length - 1
  const last = body.messages[index]!
  if (last.role !== 'user') throw invalid(`messages.${index}.role`, 'the last message must be the user message to send')
  if (body.messageId !== undefined && body.messageId !== last.id) throw invalid('messageId', 'must be the id of the last message (the edited one)')
  const content = partsOfUserMessage(last.parts, index)
  const modelId = body.modelId
  const known = await stored(services, conversationId, last.id)
  if (body.messageId === undefined) {
    // A user message the server already holds, sent again: answer it again rather than store it twice.
    if (known?.role === 'user') return regenerateTurn(services, auth, conversationId, { userMessageId: known.id, modelId }, options)
    const parent = await storedPredecessor(services, conversationId, body.messages, index).catch(() => null)
    return startTurn(services, auth, conversationId, { content, modelId, parentId: parent?.id }, options)
  }
  // An edit: a new user message beside the edited one (same parent), answered on its own branch.
  if (known && known.role !== 'user') throw invalid('messageId', 'must name a user message')
  // Null: the first message was edited, and the new one starts a branch of its own.
  const parentId = known ? known.parentId : ((await storedPredecessor(services, conversationId, body.messages, index))?.id ?? null)
  return startTurn(services, auth, conversationId, { content, modelId, parentId }, options)
}

async function regenerate(services: Services, auth: AuthContext, conversationId: string, body: ChatRequest, options: TurnOptions): Promise<StartedTurn> {
  const modelId = body.modelId
  const target = await stored(services, conversationId, body.messageId)
  if (target) return regenerateTurn(services, auth, conversationId, { userMessageId: target.role === 'assistant' ? (target.parentId ?? '') : target.id, modelId }, options)
  // The client cut its list back to the user message to answer again (regenerate() without an id, or a local user id).
  const index = body.messages.length - 1
  const last = body.messages[index]!
  const known = await stored(services, conversationId, last.id)
  if (known) return regenerateTurn(services, auth, conversationId, { userMessageId: known.role === 'assistant' ? (known.parentId ?? '') : known.id, modelId }, options)
  if (last.role !== 'user') throw notFound('Message')
  const parent = await storedPredecessor(services, conversationId, body.messages, index)
  const user = await latestUserChild(services.db, conversationId, parent?.id ?? null)
  if (!user) throw new AppError('not_found', 'No stored user message matches the last message: nothing to regenerate')
  return regenerateTurn(services, auth, conversationId, { userMessageId: user.id, modelId }, options)
}

export const stream: AppRouteHandler<typeof routes.stream> = async (c) => {
  const services = c.var.services
  const conversationId = await conversationOfChat(services, c.var.auth, c.req.valid('param').id)
  if (!conversationId) return c.body(null, 204)
  const { conversation } = await conversationAccess(services, c.var.auth, conversationId)
  const active = conversation.activeGenerationId
  const events = active ? await services.hub.subscribe(active, 0) : null
  if (!events) return c.body(null, 204)
  return streamResponse(c, events) as never
}

export const stop: AppRouteHandler<typeof routes.stop> = async (c) => {
  const services = c.var.services
  const conversationId = await conversationOfChat(services, c.var.auth, c.req.valid('param').id)
  if (!conversationId) return c.json({ success: true as const, stopped: false, generationId: null }, 200)
  const access = await conversationAccess(services, c.var.auth, conversationId)
  requireManage(access)
  const active = access.conversation.activeGenerationId
  const expected = (c.req.valid('json') as { activeStreamId?: string | null } | undefined)?.activeStreamId
  if (!active || (expected && expected !== active)) return c.json({ success: true as const, stopped: false, generationId: active }, 200)
  const stopped = await services.hub.cancel(active)
  // Answer once the partial answer is stored (its terminal event is announced only after that), so the next message
  // does not meet the old generation: followed through the hub, whichever process or object runs it.
  if (stopped) await untilEnded(services.hub, active, STOP_WAIT_MS)
  return c.json({ success: true as const, stopped, generationId: active }, 200)
}

/** The longest a stop waits for the generation to end; past it, it answers anyway. */
const STOP_WAIT_MS = 10_000
