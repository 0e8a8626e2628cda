import { z } from '@hono/zod-openapi'
import { dataUrl, inlineFilePart } from '../chat/inline-media'
import type { Part } from '../chat/parts'
import { AppError } from '../errors'
import type { InferenceConfig, ModelMessage, TextFormat, ToolChoice, ToolDefinition } from '../models/model-client'
import { functionTools } from './openai-request'

/**
 * The Responses API request (OpenAI's, as the Open Responses specification describes it), as far as it is served.
 * Fields not listed (include, prompt_cache_retention, service_tier, stream_options, …) are accepted and ignored; ones
 * whose meaning would be lost (conversation, prompt, item references, server-side tools) are 400s.
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

/** An input item; a message may leave out `type` (EasyInputMessage). Image and file ids and URLs are not served. */
const InputItem = z.preprocess(
  (item) => (item && typeof item === 'object' && !('type' in item) && 'role' in item ? { ...item, type: 'message' } : item),
  z.union([MessageItem, FunctionCallItem, FunctionCallOutputItem, ReasoningItem, OtherItem]),
)

const Name = z.string().regex(/^[\w-]{1,64}$/, 'letters, digits, _ and -, at most 64')

const FunctionTool = z.object({
  type: z.literal('function'),
  name: Name,
  description: z.string().max(10_000).nullish(),
  parameters: z.record(z.string(), z.unknown()).nullish(),
  strict: z.boolean().nullish(),
})

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
    tools: z.array(z.union([FunctionTool, OtherItem])).max(128).nullish(),
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

/** A request as what the turn engine runs: the system prompt, the messages (oldest first), inference and tools. */
export interface ResponsesTurn {
  system: string | null
  /** The input as messages, consecutive same-role items merged; the last is the user's (text, media or tool results). */
  messages: ModelMessage[]
  inference: InferenceConfig
  tools?: ToolDefinition[]
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

function toolInput(call: z.infer<typeof FunctionCallItem>, path: string): unknown {
  try {
    return call.arguments.trim() === '' ? {} : JSON.parse(call.arguments)
  } catch {
    throw invalid(`${path}.arguments`, 'must be JSON')
  }
}

/** The input items as messages (system and developer text set apart), same-role neighbours merged. */
function inputMessages(input: ResponseRequest['input']): { system: string[]; messages: ModelMessage[] } {
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
        push('assistant', [{ type: 'tool_call', toolUseId: call.call_id, name: call.name, input: toolInput(call, path) }])
        return
      }
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
        throw invalid(`${path}.type`, `${item.type.slice(0, 50)} items are not supported`)
    }
  })
  return { system, messages }
}

/**
 * The request as a turn: `instructions` and system/developer input messages make the system prompt, the other items
 * the messages; function tools only (server-side tools are a 400); `text.format` json_schema is structured output,
 * for models whose catalog entry supports it (`structuredOutput`, checked by the caller), json_object a 400.
 */
export function responsesTurnOf(body: ResponseRequest): ResponsesTurn {
  if (body.conversation !== undefined && body.conversation !== null) throw invalid('conversation', 'is not supported: use previous_response_id')
  if (body.prompt !== undefined && body.prompt !== null) throw invalid('prompt', 'is not supported')
  const { system, messages } = inputMessages(body.input)
  if (messages[messages.length - 1]?.role !== 'user') throw invalid('input', 'must end with a user message or function_call_output')

  const inference: InferenceConfig = {}
  if (body.max_output_tokens != null) inference.maxTokens = body.max_output_tokens
  if (body.temperature != null) inference.temperature = body.temperature
  if (body.top_p != null) inference.topP = body.top_p

  const functions = (body.tools ?? []).map((tool, i) => {
    if (tool.type !== 'function') throw invalid(`tools.${i}.type`, `${String(tool.type).slice(0, 50)} tools are not supported: only function tools`)
    return tool as z.infer<typeof FunctionTool>
  })
  const choice = body.tool_choice
  if (typeof choice === 'object' && choice && (choice.type !== 'function' || !choice.name)) throw invalid('tool_choice', `${choice.type.slice(0, 50)} is not supported`)

  const format = body.text?.format
  if (format?.type === 'json_object') throw invalid('text.format', 'json_object is not supported: use json_schema')
  const textFormat: TextFormat | undefined =
    format?.type === 'json_schema' ? { type: 'json_schema', name: format.name, ...(format.description ? { description: format.description } : {}), schema: format.schema } : undefined

  const instructions = [body.instructions ?? '', ...system].filter((text) => text.trim() !== '').join('\n\n')
  return {
    system: instructions || null,
    messages,
    inference,
    ...functionTools(functions, choice as Parameters<typeof functionTools>[1], messages),
    ...(textFormat ? { textFormat } : {}),
  }
}

/** The settings a response object echoes, from its request and the model it ran with. */
export function responseSettingsOf({ input: _input, stream: _stream, ...settings }: ResponseRequest, model: string): ResponseSettings {
  return { ...settings, model }
}
