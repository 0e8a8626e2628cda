import { deleteConversation } from '../db/repositories/conversations'
import { findGeneration, type GenerationRow } from '../db/repositories/generations'
import { conversationChain, findMessage, messageParts, partsBytes, type MessageRow } from '../db/repositories/messages'
import { deleteResponse, findResponse, insertInputHistory, insertResponse, insertResponsesConversation, type NewMessage, type ResponseRow } from '../db/repositories/responses'
import { findPersonalWorkspace } from '../db/repositories/workspaces'
import { AppError } from '../errors'
import { usageWorkspace } from '../governance/limit-checks'
import { startTurn, userParts, type StartedTurn, type TurnOptions } from '../chat/turns'
import { runStatelessTurn } from '../chat/stateless-turn'
import { hasMediaStubs } from '../chat/history'
import { storedGenerationEvents } from '../chat/stored-events'
import { renamingModel } from '../protocols/openai-errors'
import { untilEnded } from '../stream/until-ended'
import type { Part } from '../chat/parts'
import type { ModelMessage } from '../models/model-client'
import { modelRegistry } from '../models/registry'
import { resolveModelId } from '../models/resolve'
import { responsesTurnOf, responseSettingsOf, type ResponseRequest, type ResponsesTurn, type ResponseSettings } from '../protocols/responses-request'
import { incompleteReasonOf, responseIdOf, toolCallItem, type ResponseHead, type ResponseState } from '../protocols/responses-stream'
import type { SequencedEvent } from '../stream/events'
import { mcpToolName } from '../tools/registry'
import type { ServerTool } from '../tools/tool'
import type { AuthContext, Services } from '../types'
import { conversationAccess, requireManage, type ConversationAccess } from './conversation-access'
import { workspaceAccess } from './workspace-access'

/**
 * The Responses API over the turn engine. A stored response (`store: true`, the default) is a turn of a conversation:
 * its `resp_…` id is its generation's, `previous_response_id` continues that conversation from the previous answer,
 * and `background: true` is the generation detached in the hub (which every turn is; the request just does not wait).
 * `store: false` is a stateless turn, as Chat Completions is.
 */

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

const responseNotFound = (id: string) => new AppError('not_found', `Response with id '${id.slice(0, 100)}' not found.`)

const RESPONSE_ID = /^resp_[0-9A-Za-z]{1,60}$/

export interface CreatedResponse {
  head: ResponseHead
  /** The response's events from its start (a subscription to the stored turn, or the stateless turn itself). */
  events: AsyncIterable<SequencedEvent[]>
}

export interface CreateOptions extends TurnOptions {
  /** A stateless response's model call stops with it (the client went away). */
  signal: AbortSignal
}

interface StoredResponse {
  row: ResponseRow
  access: ConversationAccess
  generation: GenerationRow
  message: MessageRow | undefined
}

/** A stored response the caller may see (its conversation's rules), else 404. */
export async function loadResponse(services: Services, auth: AuthContext, id: string): Promise<StoredResponse> {
  const row = RESPONSE_ID.test(id) ? await findResponse(services.db, id) : undefined
  if (!row) throw responseNotFound(id)
  const access = await conversationAccess(services, auth, row.conversationId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? responseNotFound(id) : error
  })
  const generation = await findGeneration(services.db, row.generationId)
  if (!generation) throw responseNotFound(id)
  return { row, access, generation, message: await findMessage(services.db, generation.assistantMessageId) }
}

/** The built-in tools' names: a response shows a call to one as its hosted-tool item. */
const hostedNames = (services: Services): ReadonlySet<string> => new Set(services.tools.builtin.map((tool) => tool.name))

/**
 * The tools the server runs for a response: the built-ins it names, and the tools of each `mcp` server of the workspace
 * (those in allowed_tools, else all it lists). 400 for a server the workspace does not have (or has disabled) or a tool
 * it does not list; 502 when the server cannot list its tools now.
 */
async function serverTools(services: Services, workspaceId: string, turn: ResponsesTurn): Promise<ServerTool[]> {
  const listed = await Promise.all(
    turn.mcp.map(async ({ index, server, allowed }) => {
      const found = await services.tools.serverTools(workspaceId, server)
      const path = `tools.${index}.server_label`
      if ('problem' in found) throw found.refused ? invalid(path, found.problem) : new AppError('upstream_error', `${path}: ${found.problem}`, { errors: [{ path, message: found.problem }] })
      allowed?.forEach((name, j) => {
        if (!found.tools.some((tool) => tool.name === mcpToolName(server, name))) throw invalid(`tools.${index}.allowed_tools.${j}`, `The MCP server ${server} has no tool ${name}`)
      })
      return allowed ? found.tools.filter((tool) => allowed.some((name) => tool.name === mcpToolName(server, name))) : found.tools
    }),
  )
  const tools = [...services.tools.builtin.filter((tool) => turn.builtin.includes(tool.name)), ...listed.flat()]
  return tools.filter((tool, index) => tools.findIndex((other) => other.name === tool.name) === index)
}

export async function createResponse(services: Services, auth: AuthContext, body: ResponseRequest, options: CreateOptions): Promise<CreatedResponse> {
  const hosted = hostedNames(services)
  const turn = responsesTurnOf(body, [...hosted])
  const store = body.store ?? true
  if (body.background && !store) throw invalid('background', 'needs store: true')
  const previous = body.previous_response_id ? await loadResponse(services, auth, body.previous_response_id) : null
  const modelId = (() => {
    try {
      return resolveModelId(services.config, body.model, previous?.generation.modelId)
    } catch (error) {
      throw renamingModel(error)
    }
  })()
  if (turn.textFormat && !modelRegistry(services.config).find(modelId)?.capabilities.structuredOutput) {
    throw invalid('text.format', `${modelId.slice(0, 100)} does not support structured output (GET /v1/models: capabilities.structuredOutput)`)
  }
  const serverRuns = turn.builtin.length > 0 || turn.mcp.length > 0
  if (previous && !turn.tools && !serverRuns && (await holdsToolCalls(services, previous))) {
    throw invalid('tools', 'the previous responses hold tool calls: declare the tools again')
  }
  const settings = responseSettingsOf(body, modelId)
  const now = services.now()
  const createdAt = Math.floor(now.getTime() / 1000)

  if (!store) {
    // A stateless response uses the MCP servers of the workspace it is billed to.
    const workspaceId = serverRuns ? await usageWorkspace(services.db, auth) : null
    if (workspaceId && turn.mcp.length > 0) await workspaceAccess(services, auth, workspaceId, 'member')
    const history = previous ? await storedHistory(services, previous) : []
    const generationId = services.newId('gen')
    const events = await runStatelessTurn(services, {
      auth,
      modelId,
      system: turn.system,
      messages: [...history, ...turn.messages],
      inference: turn.inference,
      tools: turn.tools,
      serverTools: workspaceId ? await serverTools(services, workspaceId, turn) : undefined,
      toolChoice: turn.toolChoice,
      textFormat: turn.textFormat,
      signal: options.signal,
      generationId,
    }).catch((error: unknown) => {
      throw renamingModel(error)
    })
    return { head: { id: responseIdOf(generationId), createdAt, settings, hosted }, events }
  }

  const workspaceId = previous?.access.conversation.workspaceId ?? (await responsesWorkspace(services, auth))
  // Names the turn resolves where it runs (the MCP servers' lists are cached there).
  const serverNames = serverRuns ? (await serverTools(services, workspaceId, turn)).map((tool) => tool.name) : []
  const created = previous ? null : await newConversation(services, auth, workspaceId)
  const conversationId = previous?.row.conversationId ?? created!.id
  let started: StartedTurn
  try {
    const parentId = await storeInputHistory(services, auth, conversationId, turn.messages.slice(0, -1), previous?.generation.assistantMessageId ?? null, previous?.access.conversation.storedBytes ?? 0)
    started = await startTurn(
      services,
      auth,
      conversationId,
      {
        content: turn.messages[turn.messages.length - 1]!.parts as Part[],
        modelId,
        inference: turn.inference,
        parentId,
        systemPrompt: turn.system,
        // The server-side tools by name; the caller's function tools are client-side tools of the turn: a call to one
        // ends it (stopReason tool_use).
        tools: [...serverNames, ...(turn.tools ?? []).map((tool) => ({ ...tool, inputSchema: tool.inputSchema as Record<string, unknown> }))],
        model: { toolChoice: turn.toolChoice, textFormat: turn.textFormat },
      },
      options,
    )
  } catch (error) {
    // Nothing started: a conversation made for this response goes again.
    if (created) await deleteConversation(services.db, created.id).catch(() => undefined)
    throw renamingModel(error)
  }
  const id = responseIdOf(started.generation.id)
  await insertResponse(services.db, {
    id,
    generationId: started.generation.id,
    conversationId,
    userId: auth.userId,
    previousResponseId: previous?.row.id ?? null,
    request: settings as unknown as Record<string, unknown>,
    createdAt: now,
  })
  const events = await services.hub.subscribe(started.generation.id, 0)
  if (!events) throw new AppError('internal', 'The response could not be followed')
  return { head: { id, createdAt, settings, hosted }, events }
}

/** Where a new chain of responses is stored: the API key's workspace or the caller's personal one. */
async function responsesWorkspace(services: Services, auth: AuthContext): Promise<string> {
  const workspaceId = auth.workspaceScope ?? (await findPersonalWorkspace(services.db, auth.userId))?.id
  if (!workspaceId) throw new AppError('forbidden', 'No workspace to store responses in: use store: false')
  await workspaceAccess(services, auth, workspaceId, 'member')
  return workspaceId
}

/** A conversation for a new chain of responses. */
async function newConversation(services: Services, auth: AuthContext, workspaceId: string): Promise<{ id: string }> {
  const row = { id: services.newId('conv'), workspaceId, userId: auth.userId, createdAt: services.now() }
  await insertResponsesConversation(services.db, row)
  return row
}

/**
 * The input's earlier messages (before its last user message) stored in the conversation after `parentId`, chained;
 * returns the message the new turn follows.
 */
async function storeInputHistory(services: Services, auth: AuthContext, conversationId: string, history: ModelMessage[], parentId: string | null, storedBytes: number): Promise<string | null> {
  if (history.length === 0) return parentId
  // A user's messages within a turn's limits; the conversation within MAX_CONVERSATION_BYTES.
  for (const message of history) if (message.role === 'user') userParts(message.parts as Part[])
  if (storedBytes + partsBytes(history.flatMap((message) => message.parts)) > services.config.MAX_CONVERSATION_BYTES) {
    throw new AppError('payload_too_large', 'input: the history is larger than a conversation may store (MAX_CONVERSATION_BYTES)')
  }
  const now = services.now()
  const rows: NewMessage[] = []
  for (const { role, parts } of history) {
    const id = services.newId('msg')
    rows.push({ id, conversationId, parentId, role, parts: [...parts], status: 'complete', userId: auth.userId, apiKeyId: auth.apiKeyId, createdAt: now, updatedAt: now })
    parentId = id
  }
  await insertInputHistory(services.db, conversationId, rows)
  return parentId
}

async function holdsToolCalls(services: Services, previous: StoredResponse): Promise<boolean> {
  const chain = await conversationChain(services.db, previous.row.conversationId, previous.generation.assistantMessageId)
  return chain.some((message) => (message.parts as Part[]).some((part) => part.type === 'tool_call' || part.type === 'tool_result'))
}

/** A stored response's conversation up to its answer, media with their bytes: the history of a `store: false` follow-up. */
async function storedHistory(services: Services, previous: StoredResponse): Promise<ModelMessage[]> {
  const chain = await conversationChain(services.db, previous.row.conversationId, previous.generation.assistantMessageId)
  const media = await messageParts(
    services.db,
    chain.filter((message) => hasMediaStubs(message.parts)).map((message) => message.id),
  )
  return chain.map((message) => ({ role: message.role, parts: (media.get(message.id) ?? message.parts) as Part[], status: message.status }))
}

/** A stored response as its rows tell it (running, or how it ended). */
export function storedState(generation: GenerationRow, message: MessageRow | undefined): ResponseState {
  const parts = (message?.parts ?? []) as Part[]
  const usage = generation.inputTokens === null ? null : { inputTokens: generation.inputTokens, outputTokens: generation.outputTokens ?? 0 }
  const completedAt = generation.finishedAt ? Math.floor(generation.finishedAt.getTime() / 1000) : null
  const state: ResponseState = { status: 'in_progress', parts, usage, error: null, incompleteReason: null, completedAt }
  switch (generation.status) {
    case 'completed':
      state.incompleteReason = incompleteReasonOf(message?.stopReason ?? null)
      state.status = state.incompleteReason ? 'incomplete' : 'completed'
      break
    case 'failed': {
      const code = generation.errorCode ?? 'internal'
      state.status = 'failed'
      state.error = { code, message: `The response failed (${code})` }
      break
    }
    case 'cancelled':
      state.status = 'cancelled'
      break
  }
  return state
}

export function headOf(services: Services, row: ResponseRow): ResponseHead {
  return { id: row.id, createdAt: Math.floor(row.createdAt.getTime() / 1000), settings: row.request as unknown as ResponseSettings, hosted: hostedNames(services) }
}

/**
 * A stored response's events from its start: the hub's while it keeps them, else rebuilt from the stored answer (one
 * delta per part), whose frames are fewer, so `starting_after` counts differ there.
 */
export async function responseEvents(services: Services, stored: StoredResponse): Promise<AsyncIterable<SequencedEvent[]>> {
  const live = await services.hub.subscribe(stored.generation.id, 0)
  if (live) return live
  const generation = (await findGeneration(services.db, stored.generation.id)) ?? stored.generation
  const message = await findMessage(services.db, generation.assistantMessageId)
  if (!message) throw responseNotFound(stored.row.id)
  return storedGenerationEvents(generation, message)
}

/** The longest a cancel or delete waits for the generation to end; past it, it answers anyway. */
const STOP_WAIT_MS = 10_000

/** Cancels a running stored response and waits until its outcome is stored; a finished one is left as it is. */
export async function cancelResponse(services: Services, auth: AuthContext, id: string): Promise<StoredResponse> {
  const stored = await loadResponse(services, auth, id)
  requireManage(stored.access)
  if (stored.generation.status !== 'running') return stored
  if (await services.hub.cancel(stored.generation.id)) await untilEnded(services.hub, stored.generation.id, STOP_WAIT_MS)
  return loadResponse(services, auth, id)
}

/**
 * Deletes a stored response (cancelling it first when it runs): its id is gone and cannot be continued. The turn
 * stays in its conversation, readable through the conversation API until the conversation is deleted.
 */
export async function deleteStoredResponse(services: Services, auth: AuthContext, id: string): Promise<void> {
  const stored = await cancelResponse(services, auth, id)
  await deleteResponse(services.db, stored.row.id)
}

/** A Responses API input item: what the caller sent, as the API shows it back. */
type InputItem = Record<string, unknown> & { id: string; type: string }

function inputItems(message: { id: string; role: 'user' | 'assistant'; parts: unknown[] }, hosted: ReadonlySet<string>): InputItem[] {
  const items: InputItem[] = []
  const content: Record<string, unknown>[] = []
  const parts = message.parts as Part[]
  /** A server-side call's result is shown in its call's item. */
  const results = new Map(parts.flatMap((part) => (part.type === 'tool_result' ? [[part.toolUseId, part] as const] : [])))
  const shown = new Set<string>()
  parts.forEach((part, index) => {
    const id = `${message.id}_${index}`
    if (part.type === 'text') content.push(message.role === 'user' ? { type: 'input_text', text: part.text } : { type: 'output_text', text: part.text, annotations: [] })
    else if (part.type === 'image') content.push({ type: 'input_image', detail: 'auto', ...(part.fileId ? { file_id: part.fileId } : {}) })
    else if (part.type === 'document') content.push({ type: 'input_file', filename: part.name, ...(part.fileId ? { file_id: part.fileId } : {}) })
    else if (part.type === 'tool_call') {
      const item = toolCallItem(id, part, results.get(part.toolUseId), 'completed', hosted)
      if (item.type !== 'function_call') shown.add(part.toolUseId)
      items.push(item)
    } else if (part.type === 'tool_result' && !shown.has(part.toolUseId)) items.push({ id, type: 'function_call_output', call_id: part.toolUseId, output: part.content, status: 'completed' })
  })
  if (content.length > 0) items.unshift({ id: message.id, type: 'message', role: message.role, status: 'completed', content })
  return items
}

/**
 * The input items of a stored response, oldest first: the messages its request added to the conversation (its
 * input's earlier messages and its last user message), after the previous response's answer.
 */
export async function responseInputItems(services: Services, auth: AuthContext, id: string): Promise<InputItem[]> {
  const stored = await loadResponse(services, auth, id)
  const previous = stored.row.previousResponseId ? await findResponse(services.db, stored.row.previousResponseId) : undefined
  const after = previous ? (await findGeneration(services.db, previous.generationId))?.assistantMessageId : undefined
  const chain = await conversationChain(services.db, stored.row.conversationId, stored.generation.userMessageId)
  const start = after ? chain.findIndex((message) => message.id === after) + 1 : 0
  const hosted = hostedNames(services)
  return chain.slice(start).flatMap((message) => inputItems(message, hosted))
}
