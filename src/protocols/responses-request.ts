import { z } from '@hono/zod-openapi'
import { dataUrl, inlineFilePart } from '../chat/inline-media'
import type { Part } from '../chat/parts'
import { AppError, validationError } from '../errors'
import type { InferenceConfig, ModelMessage, TextFormat, ToolChoice, ToolDefinition } from '../models/model-client'
import { mcpToolName } from '../tools/registry'
import { functionTools } from './openai-request'
import { HOSTED_TOOL } from './responses-stream'

/**
 * The Responses API request (OpenAI's, as the Open Responses specification describes it), as far as it is served.
 * Fields not listed (include, prompt_cache_retention, service_tier, stream_options, …) are accepted and ignored; ones
 * whose meaning would be lost (conversation, prompt, item references, hosted tools of other providers) are 400s.
 */
const InputText = z.object({ type: z.literal('input_text'), text: z.string() })
const InputImage = z.object({ type: z.literal('input_image'), image_url: z.string() })
const InputFile = z.object({ type: z.literal('input_file'), file_data: z.string(), filename: z.string().max(500).nullish() })
const OutputText = z.object({ type: z.literal('output_text'), text: z.string() })
const Refusal = z.object({ type: z.literal('refusal'), refusal: z.string() })
const ContentPart = z.discriminatedUnion('type', [InputText, InputImage, InputFile, OutputText, Refusal])
const Content = z.union([z.string(), z.array(ContentPart).max(100)])

const MessageItem = z.object({ type: z.literal('message'), role: z.enum(['user', 'assistant', 'system', 'developer']), content: Content })
const FunctionCallItem = z.object({ type: z.literal('function_call'), call_id: z.string().min(1).max(200), name: z.string().min(1).max(200), arguments: z.string() })
const FunctionCallOutputItem = z.object({ type: z.literal('function_call_output'), call_id: z.string().min(1).max(200), output: Content })
const ReasoningText = z.array(z.object({ text: z.string() })).max(100).nullish()
const ReasoningItem = z.object({ type: z.literal('reasoning'), summary: ReasoningText, content: ReasoningText })
const OtherItem = z.looseObject({ type: z.string().max(100) })
const ItemId = z.string().regex(/^[\w-]{1,64}$/)
/** A server-side tool's call as an earlier response gave it (`mcp_call`, `edgechat:<name>`): its call and its result. */
const ServerCallFields = { id: ItemId, arguments: z.string(), output: z.string().nullish(), error: z.unknown().optional() }
const McpCallItem = z.object({ type: z.literal('mcp_call'), server_label: z.string().min(1).max(64), name: z.string().min(1).max(64), ...ServerCallFields })
const HostedCallItem = z.object({ type: z.string().regex(/^edgechat:[\w-]{1,64}$/), ...ServerCallFields })

/** An input item; a message may leave out `type` (EasyInputMessage). Image and file ids and URLs are not served. */
const InputItem = z.preprocess(
  (item) => (item && typeof item === 'object' && !('type' in item) && 'role' in item ? { ...item, type: 'message' } : item),
  z.union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem, McpCallItem, HostedCallItem, OtherItem]),
)

const Name = z.string().regex(/^[\w-]{1,64}$/, 'letters, digits, _ and -, at most 64')

const FunctionTool = z.object({
  type: z.literal('function'),
  name: Name,
  description: z.string().max(10_000).nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
})

const McpTool = z
  .looseObject({
    type: z.literal('mcp'),
    server_label: z.string().min(1).max(64).openapi({ description: "The name of an MCP server registered in the response's workspace (POST /v1/workspaces/{id}/mcp-servers)" }),
    allowed_tools: z.array(z.string().min(1).max(64)).max(128).nullish().openapi({ description: "The server's tools the model may call (default: all it lists)" }),
    require_approval: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish().openapi({ description: '"never" only: approvals are not served, calls run at once' }),
    server_url: z.string().nullish().openapi({ description: 'Not served (400): register the server instead, where its secrets and the URL policy live' }),
  })
  .openapi({ description: "An MCP server's tools, run by the server in the tool loop (mcp_call items)" })

const HostedTool = z
  .object({ type: z.string().regex(/^edgechat:[\w-]{1,64}$/).openapi({ example: 'edgechat:calculator' }) })
  .openapi({ description: 'A built-in tool the server runs, named edgechat:<name> (GET /v1/tools, source builtin); its calls are items of that type' })

const ToolChoiceSchema = z.union([z.enum(['none', 'auto', 'required']), z.looseObject({ type: z.string(), name: z.string().optional() })])

const TextFormatSchema = z.union([
  z.object({ type: z.enum(['text', 'json_object']) }),
  z.object({ type: z.literal('json_schema'), name: Name, schema: z.record(z.string(), z.unknown()), description: z.string().max(10_000).nullish(), strict: z.boolean().nullish() }),
])

const Metadata = z.record(z.string().max(64), z.string().max(512))

export const ResponseRequestSchema = z
  .object({
    model: z.string().min(1).max(300).nullish(),
    input: z.union([z.string(), z.array(InputItem).max(10_000)]).nullish(),
    instructions: z.string().max(100_000).nullish(),
    previous_response_id: z.string().min(1).max(100).nullish(),
    store: z.boolean().nullish(),
    stream: z.boolean().nullish(),
    background: z.boolean().nullish(),
    tools: z.array(z.union([FunctionTool, McpTool, HostedTool, OtherItem])).max(128).nullish(),
    tool_choice: ToolChoiceSchema.nullish(),
    parallel_tool_calls: z.boolean().nullish(),
    max_output_tokens: z.number().int().min(1).nullish(),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    metadata: Metadata.nullish(),
    text: z.object({ format: TextFormatSchema.nullish() }).nullish(),
    reasoning: z.object({ effort: z.string().nullish(), summary: z.string().nullish() }).nullish(),
    truncation: z.enum(['auto', 'disabled']).nullish(),
    user: z.string().max(256).nullish(),
    safety_identifier: z.string().max(256).nullish(),
    prompt_cache_key: z.string().max(256).nullish(),
    conversation: z.unknown().optional(),
    prompt: z.unknown().optional(),
  })
  .openapi('CreateResponseRequest')

export type ResponseRequest = z.infer<typeof ResponseRequestSchema>

/** What a response object echoes: its request as sent but the input, with the model it ran with (stored with it). */
export type ResponseSettings = Omit<ResponseRequest, 'input' | 'stream'> & { model: string }

/** An `mcp` tool of the request: a registered server's tools, all or those allowed. */
export interface McpToolRequest {
  /** Its index in `tools`, for the errors. */
  index: number
  server: string
  allowed: string[] | null
}

/** A request as what the turn engine runs: the system prompt, the messages (oldest first), inference and tools. */
export interface ResponsesTurn {
  system: string | null
  /** The input as messages, consecutive same-role items merged; the last is the user's (text, media or tool results). */
  messages: ModelMessage[]
  inference: InferenceConfig
  /** The client's function tools: a call to one ends the response. */
  tools?: ToolDefinition[]
  /** Tools the server runs: built-ins by name, and MCP servers' (resolved against the workspace by the caller). */
  builtin: string[]
  mcp: McpToolRequest[]
  /** How the model picks among all of them. */
  toolChoice?: ToolChoice
  textFormat?: TextFormat
}

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

function contentParts(content: z.infer<typeof Content>, at: string): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  return content.map((part, i): Part => {
    const path = `${at}.${i}`
    switch (part.type) {
      case 'input_text':
      case 'output_text':
        return { type: 'text', text: part.text }
      case 'refusal':
        return { type: 'text', text: part.refusal }
      case 'input_image':
        return inlineFilePart(dataUrl(part.image_url, `${path}.image_url`), `${path}.image_url`, 'images')
      case 'input_file': {
        const file = dataUrl(part.file_data.startsWith('data:') ? part.file_data : `data:${mediaTypeOf(part.filename)};base64,${part.file_data}`, `${path}.file_data`)
        return inlineFilePart({ ...file, filename: part.filename ?? undefined }, `${path}.file_data`)
      }
    }
  })
}

/** The media type of bare base64 `file_data`, from its file name (OpenAI's clients send PDFs this way). */
function mediaTypeOf(filename: string | null | undefined): string {
  const extension = filename?.split('.').pop()?.toLowerCase()
  const types: Record<string, string> = { pdf: 'application/pdf', csv: 'text/csv', txt: 'text/plain', md: 'text/markdown', html: 'text/html' }
  return (extension && types[extension]) || 'application/octet-stream'
}

const textOf = (parts: readonly Part[]) => parts.map((part) => (part.type === 'text' ? part.text : '')).join('')

function toolInput(call: { arguments: string }, path: string): unknown {
  try {
    return call.arguments.trim() === '' ? {} : JSON.parse(call.arguments)
  } catch {
    throw invalid(`${path}.arguments`, 'must be JSON')
  }
}

/** Parses one item of an array with its own schema (a union let it through as another), errors at its path. */
function parseAt<T extends z.ZodType>(schema: T, value: unknown, path: string): z.output<T> {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw validationError(parsed.error.issues.map((issue) => ({ ...issue, path: [...path.split('.'), ...issue.path] })))
  return parsed.data
}

/** A call's error as the model reads it: the text of an mcp_call's error content, else its message, else its JSON. */
function errorText(error: unknown): string {
  if (typeof error === 'string') return error
  const { content, message } = error as { content?: unknown; message?: unknown }
  if (Array.isArray(content)) return content.map((item: { text?: unknown }) => (typeof item?.text === 'string' ? item.text : '')).join('\n')
  return typeof message === 'string' ? message : JSON.stringify(error)
}

/** Tool names the server runs, which the client's functions cannot take. */
const serverName = (name: string, builtin: readonly string[]) => builtin.includes(name) || name.startsWith('mcp__')

/** The input items as messages (system and developer text set apart), same-role neighbours merged. */
function inputMessages(input: ResponseRequest['input'], builtin: readonly string[]): { system: string[]; messages: ModelMessage[] } {
  const system: string[] = []
  const messages: { role: 'user' | 'assistant'; parts: Part[]; status: string }[] = []
  const push = (role: 'user' | 'assistant', parts: Part[]) => {
    const last = messages[messages.length - 1]
    if (last?.role === role) last.parts.push(...parts)
    else messages.push({ role, parts, status: 'complete' })
  }
  if (typeof input === 'string') push('user', [{ type: 'text', text: input }])
  ;(Array.isArray(input) ? input : []).forEach((item, i) => {
    const path = `input.${i}`
    switch (item.type) {
      case 'message': {
        const message = item as z.infer<typeof MessageItem>
        const parts = contentParts(message.content, `${path}.content`)
        if (message.role === 'system' || message.role === 'developer') system.push(textOf(parts))
        else push(message.role, parts)
        return
      }
      case 'function_call': {
        const call = item as z.infer<typeof FunctionCallItem>
        if (serverName(call.name, builtin)) throw invalid(`${path}.name`, `${call.name} is a server-side tool: send its calls as the items the server gave`)
        push('assistant', [{ type: 'tool_call', toolUseId: call.call_id, name: call.name, input: toolInput(call, path) }])
        return
      }
      case 'mcp_call':
        return serverCall(parseAt(McpCallItem, item, path), path, (call) => mcpToolName(call.server_label, call.name))
      case 'function_call_output': {
        const output = item as z.infer<typeof FunctionCallOutputItem>
        const content = typeof output.output === 'string' ? output.output : textOf(contentParts(output.output, `${path}.output`))
        push('user', [{ type: 'tool_result', toolUseId: output.call_id, content, isError: false }])
        return
      }
      case 'reasoning': {
        const reasoning = item as z.infer<typeof ReasoningItem>
        const text = (reasoning.content ?? reasoning.summary ?? []).map((part) => part.text).join('')
        if (text) push('assistant', [{ type: 'reasoning', text }])
        return
      }
      default:
        if (item.type.startsWith(HOSTED_TOOL) && builtin.includes(item.type.slice(HOSTED_TOOL.length))) {
          return serverCall(parseAt(HostedCallItem, item, path), path, (call) => call.type.slice(HOSTED_TOOL.length))
        }
        throw invalid(`${path}.type`, `${item.type.slice(0, 50)} items are not supported`)
    }
  })
  /** A server-side call the client sends back: the call and its result, as the assistant's parts hold them. */
  function serverCall<C extends z.infer<typeof HostedCallItem> | z.infer<typeof McpCallItem>>(call: C, path: string, nameOf: (call: C) => string) {
    const failed = call.output == null && call.error != null
    const content = failed ? errorText(call.error) : (call.output ?? '')
    push('assistant', [
      { type: 'tool_call', toolUseId: call.id, name: nameOf(call), input: toolInput(call, path) },
      { type: 'tool_result', toolUseId: call.id, content, isError: failed },
    ])
  }
  return { system, messages }
}

/** The request's tools: the client's functions, and those the server runs (built-ins by name, MCP servers by label). */
function requestTools(tools: ResponseRequest['tools'], builtin: readonly string[]) {
  const functions: z.infer<typeof FunctionTool>[] = []
  const hosted = new Set<string>()
  const mcp: McpToolRequest[] = []
  ;(tools ?? []).forEach((tool, index) => {
    const path = `tools.${index}`
    const type = String(tool.type)
    if (type === 'function') {
      const fn = parseAt(FunctionTool, tool, path)
      if (serverName(fn.name, builtin)) throw invalid(`${path}.name`, `${fn.name} is the name of a server-side tool`)
      functions.push(fn)
    } else if (type === 'mcp') {
      const server = parseAt(McpTool, tool, path)
      // An inline server would bypass what registering one checks (its URL) and keeps (its secrets, sealed).
      for (const field of ['server_url', 'connector_id', 'headers', 'authorization']) {
        if (server[field] != null) throw invalid(`${path}.${field}`, 'is not supported: name a server registered in the workspace (POST /v1/workspaces/{id}/mcp-servers) by its server_label')
      }
      if (server.require_approval != null && server.require_approval !== 'never') throw invalid(`${path}.require_approval`, 'only "never" is supported: approvals are not')
      mcp.push({ index, server: server.server_label, allowed: server.allowed_tools ?? null })
    } else if (type.startsWith(HOSTED_TOOL) && builtin.includes(type.slice(HOSTED_TOOL.length))) {
      hosted.add(type.slice(HOSTED_TOOL.length))
    } else {
      const named = builtin.includes(type) ? `: the built-in tool is ${HOSTED_TOOL}${type}` : `: function, mcp and ${builtin.map((name) => HOSTED_TOOL + name).join(', ')} are`
      throw invalid(`${path}.type`, `${type.slice(0, 50)} tools are not supported${named}`)
    }
  })
  return { functions, builtin: [...hosted], mcp }
}

/**
 * The request as a turn: `instructions` and system/developer input messages make the system prompt, the other items
 * the messages; function tools for the client, built-in and MCP tools for the server to run (`builtin`: the built-in
 * tools' names); `text.format` json_schema is structured output, for models whose catalog entry supports it
 * (`structuredOutput`, checked by the caller), json_object a 400.
 */
export function responsesTurnOf(body: ResponseRequest, builtin: readonly string[]): ResponsesTurn {
  if (body.conversation !== undefined && body.conversation !== null) throw invalid('conversation', 'is not supported: use previous_response_id')
  if (body.prompt !== undefined && body.prompt !== null) throw invalid('prompt', 'is not supported')
  const { system, messages } = inputMessages(body.input, builtin)
  if (messages[messages.length - 1]?.role !== 'user') throw invalid('input', 'must end with a user message or function_call_output')

  const inference: InferenceConfig = {}
  if (body.max_output_tokens != null) inference.maxTokens = body.max_output_tokens
  if (body.temperature != null) inference.temperature = body.temperature
  if (body.top_p != null) inference.topP = body.top_p

  const tools = requestTools(body.tools, builtin)
  const choice = body.tool_choice
  if (typeof choice === 'object' && choice && (choice.type !== 'function' || !choice.name)) throw invalid('tool_choice', `${choice.type.slice(0, 50)} is not supported`)

  const format = body.text?.format
  if (format?.type === 'json_object') throw invalid('text.format', 'json_object is not supported: use json_schema')
  const textFormat: TextFormat | undefined =
    format?.type === 'json_schema' ? { type: 'json_schema', name: format.name, ...(format.description ? { description: format.description } : {}), schema: format.schema } : undefined

  const instructions = [body.instructions ?? '', ...system].filter((text) => text.trim() !== '').join('\n\n')
  // `none`: no tools at all. A function named by tool_choice must be one of the functions; `required` picks any tool.
  const none = choice === 'none'
  const named = typeof choice === 'object' && choice ? choice.name! : null
  if (named !== null && tools.functions.length === 0) throw invalid('tool_choice', `${named.slice(0, 64)} is not one of the tools`)
  const functions = functionTools(tools.functions, named !== null ? { name: named } : 'auto', messages)
  const serverRuns = !none && (tools.builtin.length > 0 || tools.mcp.length > 0)
  const toolChoice = choice === 'required' && (functions.tools || serverRuns) ? { type: 'any' as const } : functions.toolChoice
  return {
    system: instructions || null,
    messages,
    inference,
    ...(functions.tools && !none ? { tools: functions.tools } : {}),
    builtin: serverRuns ? tools.builtin : [],
    mcp: serverRuns ? tools.mcp : [],
    ...(toolChoice && !none ? { toolChoice } : {}),
    ...(textFormat ? { textFormat } : {}),
  }
}

/** The settings a response object echoes, from its request and the model it ran with. */
export function responseSettingsOf({ input: _input, stream: _stream, ...settings }: ResponseRequest, model: string): ResponseSettings {
  return { ...settings, model }
}
