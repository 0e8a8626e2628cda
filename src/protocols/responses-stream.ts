import type { Part } from '../chat/parts'
import type { SequencedEvent, Usage } from '../stream/events'
import { parseMcpToolName } from '../tools/registry'
import type { ResponseSettings } from './responses-request'

/**
 * The Responses API over our events: the response object and its output items, and the streamed events of the Open
 * Responses specification (`event:` equal to `data.type`, `sequence_number` on each, from 0, no `id:`), ending with
 * `response.completed`, `.incomplete` or `.failed`, then `data: [DONE]`.
 */
export const RESPONSE_STREAM_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
}

export type ResponseStatus = 'queued' | 'in_progress' | 'completed' | 'failed' | 'cancelled' | 'incomplete'

/** What a response is apart from its output: its id, when it was created, and its request's settings. */
export interface ResponseHead {
  id: string
  /** Unix seconds. */
  createdAt: number
  settings: ResponseSettings
  /** The built-in tools' names: a call to one shows as its hosted-tool item (`edgechat:<name>`). */
  hosted: ReadonlySet<string>
}

/** Where a response stands: folded from its events, or read from the stored turn. */
export interface ResponseState {
  status: ResponseStatus
  parts: Part[]
  usage: Usage | null
  error: { code: string; message: string } | null
  incompleteReason: string | null
  /** Unix seconds, once it ended. */
  completedAt: number | null
}

type ItemStatus = 'in_progress' | 'completed' | 'incomplete' | 'failed'

export type OutputItem = { type: string; id: string; status: ItemStatus; [field: string]: unknown }

type ToolCall = Extract<Part, { type: 'tool_call' }>
type ToolResult = Extract<Part, { type: 'tool_result' }>

/**
 * The slug of EdgeChat's own hosted tools and their items: Open Responses has an implementer name its tools and item
 * types `<slug>:<name>` (`{"type": "edgechat:calculator"}`, answered by an `edgechat:calculator` item).
 */
export const HOSTED_TOOL = 'edgechat:'

/** Who runs a tool call, by its name: an MCP server (`mcp__{server}__{tool}`), the server itself (a built-in), or the client. */
function runnerOf(name: string, hosted: ReadonlySet<string>) {
  const mcp = parseMcpToolName(name)
  return mcp ? { kind: 'mcp' as const, ...mcp } : hosted.has(name) ? { kind: 'hosted' as const } : null
}

const outputString = (value: unknown) => (typeof value === 'string' ? value : (JSON.stringify(value) ?? 'null'))

/**
 * A tool call as its item, `id` its item id: a client's function (`function_call`), an MCP server's tool (`mcp_call`,
 * OpenAI's item) or a built-in (`edgechat:<name>`, the hosted-tool item), the last two with their result once there is
 * one (`failed` for an error result). The same shape in output items and input items.
 */
export function toolCallItem(id: string, call: ToolCall, result: ToolResult | undefined, status: ItemStatus, hosted: ReadonlySet<string>): OutputItem {
  const args = JSON.stringify(call.input ?? {})
  const runner = runnerOf(call.name, hosted)
  if (!runner) return { type: 'function_call', id, call_id: call.toolUseId, name: call.name, arguments: args, status }
  const output = result && !result.isError ? outputString(result.content) : null
  const failure = result?.isError ? outputString(result.content) : null
  const done: ItemStatus = result ? (result.isError ? 'failed' : 'completed') : status
  return runner.kind === 'mcp'
    ? { type: 'mcp_call', id, server_label: runner.server, name: runner.tool, arguments: args, output, error: failure && { type: 'mcp_tool_execution_error', content: [{ type: 'text', text: failure }] }, status: done }
    : { type: `${HOSTED_TOOL}${call.name}`, id, arguments: args, output, error: failure, status: done }
}

/** `resp_…` ↔ `gen_…`: a response is its generation under another prefix. */
export const responseIdOf = (generationId: string) => `resp_${generationId.replace(/^gen_/, '')}`
export const generationIdOf = (responseId: string) => `gen_${responseId.replace(/^resp_/, '')}`

const itemId = (responseId: string, prefix: string, index: number) => `${prefix}_${responseId.replace(/^resp_/, '')}_${index}`

/** Parts that become output items (tool results are the server's own steps, reasoning without text says nothing). */
const shown = (part: Part) => part.type === 'text' || part.type === 'tool_call' || (part.type === 'reasoning' && part.text !== '')

/**
 * One output item per shown part, ids numbered by output index (the same in the stream and in a retrieve); a
 * server-side tool call carries its result, when it has one.
 */
export function outputItem(head: ResponseHead, part: Part, index: number, status: ItemStatus, result?: ToolResult): OutputItem {
  switch (part.type) {
    case 'reasoning':
      return { type: 'reasoning', id: itemId(head.id, 'rs', index), status, summary: [], content: [{ type: 'reasoning_text', text: part.text }] }
    case 'tool_call': {
      const runner = runnerOf(part.name, head.hosted)
      return toolCallItem(itemId(head.id, runner ? (runner.kind === 'mcp' ? 'mcp' : 'ht') : 'fc', index), part, result, status, head.hosted)
    }
    default:
      return {
        type: 'message',
        id: itemId(head.id, 'msg', index),
        status,
        role: 'assistant',
        content: [outputText(part.type === 'text' ? part.text : '')],
      }
  }
}

const outputText = (text: string) => ({ type: 'output_text', text, annotations: [], logprobs: [] })

export function outputItems(head: ResponseHead, parts: readonly Part[], state: ResponseStatus): OutputItem[] {
  const items = parts.filter(shown)
  const results = new Map(parts.flatMap((part) => (part.type === 'tool_result' ? [[part.toolUseId, part] as const] : [])))
  const running = state === 'in_progress' || state === 'queued'
  const last: ItemStatus = running ? 'in_progress' : state === 'failed' || state === 'cancelled' ? 'incomplete' : 'completed'
  return items.map((part, index) => {
    // A server-side call without its result is running, or was cut short, wherever it stands.
    const pending = part.type === 'tool_call' && runnerOf(part.name, head.hosted) && !results.has(part.toolUseId)
    const status = pending ? (running ? 'in_progress' : 'incomplete') : index === items.length - 1 ? last : 'completed'
    return outputItem(head, part, index, status, part.type === 'tool_call' ? results.get(part.toolUseId) : undefined)
  })
}

const usageOf = (usage: Usage | null) =>
  usage && {
    input_tokens: usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: usage.inputTokens + usage.outputTokens,
  }

/** The response object (OpenAI's `Response`, every field the Open Responses schema requires). */
export function responseObject(head: ResponseHead, state: ResponseState) {
  const s = head.settings
  const output = outputItems(head, state.parts, state.status)
  return {
    id: head.id,
    object: 'response' as const,
    created_at: head.createdAt,
    completed_at: state.completedAt,
    status: state.status,
    background: s.background ?? false,
    error: state.error,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    instructions: s.instructions ?? null,
    max_output_tokens: s.max_output_tokens ?? null,
    max_tool_calls: null,
    model: s.model,
    output,
    output_text: output
      .flatMap((item) => (item.type === 'message' ? (item.content as { text: string }[]).map((content) => content.text) : []))
      .join(''),
    parallel_tool_calls: s.parallel_tool_calls ?? true,
    previous_response_id: s.previous_response_id ?? null,
    reasoning: { effort: s.reasoning?.effort ?? null, summary: s.reasoning?.summary ?? null },
    service_tier: 'default',
    store: s.store ?? true,
    temperature: s.temperature ?? 1,
    text: { format: s.text?.format ?? { type: 'text' } },
    tool_choice: s.tool_choice ?? 'auto',
    tools: (s.tools ?? []).map((tool) => (tool.type === 'function' ? { description: null, parameters: null, strict: null, ...tool } : tool)),
    top_p: s.top_p ?? 1,
    presence_penalty: 0,
    frequency_penalty: 0,
    top_logprobs: 0,
    truncation: s.truncation ?? 'disabled',
    usage: usageOf(state.usage),
    user: s.user ?? null,
    safety_identifier: s.safety_identifier ?? null,
    prompt_cache_key: s.prompt_cache_key ?? null,
    metadata: s.metadata ?? {},
  }
}

export type ResponseObject = ReturnType<typeof responseObject>

/** Why an answer that ended normally is incomplete (OpenAI's reasons), from its stop reason; null when it is not. */
export function incompleteReasonOf(stopReason: string | null): string | null {
  if (stopReason === 'max_tokens' || stopReason === 'model_context_window_exceeded') return 'max_output_tokens'
  if (stopReason === 'content_filtered' || stopReason === 'guardrail_intervened') return 'content_filter'
  return null
}

export interface ResponsesEncoder {
  /** One batch of events as the frames they make (those numbered after `startingAfter` only). */
  (events: readonly SequencedEvent[]): string
  /** The response as the events so far tell it. */
  snapshot(): ResponseObject
}

/**
 * A stateful encoder for one response's event batches. Deterministic: the same events give the same frames with the
 * same sequence numbers, so a stream resumed with `starting_after=N` replays the generation from its start and writes
 * only the frames numbered after N.
 */
export function createResponsesEncoder(head: ResponseHead, options: { startingAfter?: number; now: () => number }): ResponsesEncoder {
  const state: ResponseState = { status: head.settings.background ? 'queued' : 'in_progress', parts: [], usage: null, error: null, incompleteReason: null, completedAt: null }
  const after = options.startingAfter ?? -1
  let sequence = 0
  let out = ''
  /** The open item's output index and part, while deltas extend it. */
  let open: { index: number; part: Part; id: string } | null = null
  /** Server-side tool calls whose items are added and not done: they wait for their results, several at a time. */
  const calls = new Map<string, { index: number; call: ToolCall }>()
  let items = 0

  const frame = (type: string, data: Record<string, unknown>) => {
    const number = sequence++
    if (number > after) out += `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: number })}\n\n`
  }
  const lifecycle = (type: string) => frame(type, { response: responseObject(head, state) })

  /** Where an open item's content events go: its ids, and for text and reasoning the content part's type. */
  const at = () => ({ item_id: open!.id, output_index: open!.index })
  const content = (part: Part) => (part.type === 'text' ? 'output_text' : 'reasoning_text')
  const contentPart = (part: Part, text: string) => (part.type === 'text' ? outputText(text) : { type: 'reasoning_text', text })

  const openItem = (part: Part) => {
    const index = items++
    state.parts.push(part)
    const added = outputItem(head, part, index, 'in_progress')
    open = { index, part, id: added.id }
    // Added empty: its content comes with the events that follow (clients append each part and delta to it).
    if (part.type === 'tool_call') added.arguments = ''
    else added.content = []
    frame('response.output_item.added', { output_index: index, item: added })
    if (part.type !== 'tool_call') frame('response.content_part.added', { ...at(), content_index: 0, part: contentPart(part, '') })
  }

  const closeItem = (status: ItemStatus) => {
    if (!open) return
    const { index, part } = open
    const where = at()
    open = null
    const item = outputItem(head, part, index, status)
    if (part.type === 'tool_call') frame('response.function_call_arguments.done', { ...where, name: part.name, arguments: item.arguments })
    else if (part.type === 'text' || part.type === 'reasoning') {
      frame(`response.${content(part)}.done`, { ...where, content_index: 0, text: part.text, ...(part.type === 'text' ? { logprobs: [] } : {}) })
      frame('response.content_part.done', { ...where, content_index: 0, part: contentPart(part, part.text) })
    }
    frame('response.output_item.done', { output_index: index, item })
  }

  const delta = (type: 'text' | 'reasoning', text: string) => {
    if (open?.part.type !== type) {
      closeItem('completed')
      openItem({ type, text: '' } as Part)
    }
    const part = open!.part as Part & { text: string }
    part.text += text
    frame(`response.${content(part)}.delta`, { ...at(), content_index: 0, delta: text, ...(type === 'text' ? { logprobs: [] } : {}) })
  }

  /** A call the server runs: its item is added now and done at its result (an MCP call with OpenAI's mcp_call events). */
  const startCall = (call: ToolCall) => {
    const index = items++
    state.parts.push(call)
    const item = outputItem(head, call, index, 'in_progress')
    const where = { item_id: item.id, output_index: index }
    calls.set(call.toolUseId, { index, call })
    if (item.type !== 'mcp_call') return frame('response.output_item.added', { output_index: index, item })
    frame('response.output_item.added', { output_index: index, item: { ...item, arguments: '' } })
    frame('response.mcp_call.in_progress', where)
    frame('response.mcp_call_arguments.delta', { ...where, delta: item.arguments })
    frame('response.mcp_call_arguments.done', { ...where, arguments: item.arguments })
  }

  const endCall = (toolUseId: string, result?: ToolResult) => {
    const running = calls.get(toolUseId)
    if (!running) return
    calls.delete(toolUseId)
    const item = outputItem(head, running.call, running.index, 'incomplete', result)
    if (item.type === 'mcp_call' && result) frame(`response.mcp_call.${result.isError ? 'failed' : 'completed'}`, { item_id: item.id, output_index: running.index })
    frame('response.output_item.done', { output_index: running.index, item })
  }

  const end = (status: ResponseStatus, type: string) => {
    closeItem(status === 'completed' || status === 'incomplete' ? 'completed' : 'incomplete')
    for (const toolUseId of [...calls.keys()]) endCall(toolUseId)
    state.status = status
    state.completedAt = Math.floor(options.now() / 1000)
    lifecycle(type)
    out += 'data: [DONE]\n\n'
  }

  const encode = ((events) => {
    out = ''
    for (const event of events) {
      switch (event.type) {
        case 'generation.started':
          lifecycle('response.created')
          if (state.status === 'queued') lifecycle('response.queued')
          state.status = 'in_progress'
          lifecycle('response.in_progress')
          break
        case 'text.delta':
          delta('text', event.data.delta)
          break
        case 'reasoning.delta':
          delta('reasoning', event.data.delta)
          break
        case 'tool.call': {
          closeItem('completed')
          const part: ToolCall = { type: 'tool_call', toolUseId: event.data.toolUseId, name: event.data.name, input: event.data.input }
          if (runnerOf(part.name, head.hosted)) {
            startCall(part)
            break
          }
          openItem(part)
          frame('response.function_call_arguments.delta', { ...at(), delta: JSON.stringify(part.input ?? {}) })
          closeItem('completed')
          break
        }
        case 'tool.result': {
          const result: ToolResult = { type: 'tool_result', toolUseId: event.data.toolUseId, content: event.data.output, isError: event.data.isError }
          state.parts.push(result)
          endCall(result.toolUseId, result)
          break
        }
        case 'usage':
          state.usage = { inputTokens: event.data.inputTokens, outputTokens: event.data.outputTokens }
          break
        case 'generation.completed': {
          state.usage = event.data.usage
          state.incompleteReason = incompleteReasonOf(event.data.stopReason)
          if (state.incompleteReason) end('incomplete', 'response.incomplete')
          else end('completed', 'response.completed')
          break
        }
        case 'generation.failed':
          state.error = { code: event.data.code, message: event.data.message }
          end('failed', 'response.failed')
          break
        case 'generation.cancelled':
          // The Responses API has no cancelled event: the stream ends with response.failed, the response's status says why.
          end('cancelled', 'response.failed')
          break
      }
    }
    return out
  }) as ResponsesEncoder
  encode.snapshot = () => responseObject(head, state)
  return encode
}
