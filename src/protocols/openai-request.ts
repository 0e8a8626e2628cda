import { z } from '@hono/zod-openapi'
import { dataUrl, inlineFilePart } from '../chat/inline-media'
import type { Part } from '../chat/parts'
import type { StatelessTurnInput } from '../chat/stateless-turn'
import { AppError } from '../errors'
import type { InferenceConfig, ModelMessage, ToolChoice, ToolDefinition } from '../models/model-client'

/**
 * OpenAI's Chat Completions request, as far as it is served: fields not listed here (user, seed, logprobs,
 * parallel_tool_calls, metadata, …) are accepted and ignored.
 */
const TextContentPart = z.object({ type: z.literal('text'), text: z.string() })
const ImageContentPart = z.object({
  type: z.literal('image_url'),
  image_url: z.object({ url: z.string().min(1), detail: z.string().optional() }),
})
const FileContentPart = z.object({
  type: z.literal('file'),
  file: z.object({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
})
const AudioContentPart = z.object({ type: z.literal('input_audio'), input_audio: z.unknown() })
const RefusalContentPart = z.object({ type: z.literal('refusal'), refusal: z.string() })

const TextContent = z.union([z.string(), z.array(TextContentPart)])

const SystemMessage = z.object({ role: z.enum(['system', 'developer']), content: TextContent, name: z.string().optional() })
const UserMessage = z.object({
  role: z.literal('user'),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextContentPart, ImageContentPart, FileContentPart, AudioContentPart]))]),
  name: z.string().optional(),
})
const ToolCall = z.object({
  id: z.string().min(1).max(200),
  type: z.literal('function'),
  function: z.object({ name: z.string().min(1).max(200), arguments: z.string() }),
})
const AssistantMessage = z.object({
  role: z.literal('assistant'),
  content: z.union([z.string(), z.array(z.discriminatedUnion('type', [TextContentPart, RefusalContentPart]))]).nullish(),
  tool_calls: z.array(ToolCall).nullish(),
  name: z.string().optional(),
})
const ToolMessage = z.object({ role: z.literal('tool'), tool_call_id: z.string().min(1).max(200), content: TextContent })

const FunctionTool = z.object({
  type: z.literal('function'),
  function: z.object({
    name: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64'),
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional(),
    strict: z.boolean().nullish(),
  }),
})

const ToolChoiceSchema = z.union([
  z.enum(['none', 'auto', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }) }),
])

const positiveInt = z.number().int().min(1)

export const ChatCompletionRequestSchema = z
  .object({
    model: z.string().min(1).max(300).openapi({ description: 'A model id from GET /v1/models', example: 'amazon.nova-lite-v1:0' }),
    messages: z.array(z.discriminatedUnion('role', [SystemMessage, UserMessage, AssistantMessage, ToolMessage])).min(1).max(100_000),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
    max_tokens: positiveInt.nullish(),
    max_completion_tokens: positiveInt.nullish().openapi({ description: 'Wins over max_tokens; capped at the model’s output limit' }),
    temperature: z.number().min(0).max(2).nullish(),
    top_p: z.number().min(0).max(1).nullish(),
    stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)]).nullish(),
    n: z.number().int().nullish().openapi({ description: 'Only 1 is supported' }),
    tools: z.array(FunctionTool).max(128).nullish(),
    tool_choice: ToolChoiceSchema.nullish(),
    response_format: z.object({ type: z.string() }).nullish().openapi({ description: 'Only `{"type": "text"}` is supported' }),
  })
  .openapi('ChatCompletionRequest')

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

type UserContent = z.infer<typeof UserMessage>['content']

function userParts(content: UserContent, at: string): Part[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }]
  return content.map((part, i): Part => {
    const path = `${at}.${i}`
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text }
      case 'image_url':
        return inlineFilePart(dataUrl(part.image_url.url, `${path}.image_url.url`), `${path}.image_url.url`, 'images')
      case 'file': {
        if (!part.file.file_data) throw invalid(`${path}.file`, 'file_id is not supported: send the file inline as file_data (a data URL)')
        const file = dataUrl(part.file.file_data, `${path}.file.file_data`)
        return inlineFilePart({ ...file, filename: part.file.filename ?? undefined }, `${path}.file.file_data`)
      }
      case 'input_audio':
        throw invalid(`${path}.type`, 'audio input is not supported')
    }
  })
}

const textOf = (content: z.infer<typeof TextContent>) => (typeof content === 'string' ? content : content.map((part) => part.text).join(''))

function toolCallPart(call: z.infer<typeof ToolCall>, path: string): Part {
  let input: unknown
  try {
    input = call.function.arguments.trim() === '' ? {} : JSON.parse(call.function.arguments)
  } catch {
    throw invalid(`${path}.function.arguments`, 'must be JSON')
  }
  return { type: 'tool_call', toolUseId: call.id, name: call.function.name, input }
}

export interface FunctionDeclaration {
  name: string
  description?: string | null | undefined
  parameters?: Record<string, unknown> | null | undefined
}

/**
 * Client-declared functions as the model gets them, with OpenAI's `tool_choice` (a function's name for a named one;
 * `required` → any). `none` sends no tools, unless the history holds tool calls: Bedrock needs the tools declared to
 * read them.
 */
export function functionTools(
  functions: readonly FunctionDeclaration[],
  choice: 'none' | 'auto' | 'required' | { name: string } | null | undefined,
  messages: readonly ModelMessage[],
): { tools?: ToolDefinition[]; toolChoice?: ToolChoice } {
  // `none` sends no tools: the model cannot call one (earlier tool calls and results then reach Bedrock as text).
  if (functions.length === 0 || choice === 'none') return {}
  const tools = functions.map((fn) => ({ name: fn.name, ...(fn.description ? { description: fn.description } : {}), inputSchema: fn.parameters ?? { type: 'object', properties: {} } }))
  if (!choice || choice === 'auto') return { tools }
  if (choice === 'required') return { tools, toolChoice: { type: 'any' } }
  if (!tools.some((tool) => tool.name === choice.name)) throw invalid('tool_choice', `${choice.name.slice(0, 64)} is not one of the tools`)
  return { tools, toolChoice: { type: 'tool', name: choice.name } }
}

/** The request as a stateless turn: system and developer messages become the system prompt, the rest the history. */
export function statelessTurnOf(body: ChatCompletionRequest): Omit<StatelessTurnInput, 'auth' | 'signal'> {
  if (body.n != null && body.n !== 1) throw invalid('n', 'only 1 choice is supported')
  if (body.response_format && body.response_format.type !== 'text') throw invalid('response_format', `${body.response_format.type.slice(0, 50)} is not supported; only text`)
  const system: string[] = []
  const messages: ModelMessage[] = []
  body.messages.forEach((message, i) => {
    const path = `messages.${i}`
    switch (message.role) {
      case 'system':
      case 'developer':
        system.push(textOf(message.content))
        return
      case 'user':
        messages.push({ role: 'user', parts: userParts(message.content, `${path}.content`), status: 'complete' })
        return
      case 'assistant': {
        const content = message.content
        const text = content == null ? '' : typeof content === 'string' ? content : content.map((part) => (part.type === 'text' ? part.text : part.refusal)).join('')
        const parts: Part[] = text ? [{ type: 'text', text }] : []
        message.tool_calls?.forEach((call, j) => parts.push(toolCallPart(call, `${path}.tool_calls.${j}`)))
        messages.push({ role: 'assistant', parts, status: 'complete' })
        return
      }
      case 'tool':
        messages.push({ role: 'user', parts: [{ type: 'tool_result', toolUseId: message.tool_call_id, content: textOf(message.content), isError: false }], status: 'complete' })
        return
    }
  })
  if (!body.messages.some((message) => message.role === 'user')) throw invalid('messages', 'at least one user message is needed')

  const inference: InferenceConfig = {}
  const maxTokens = body.max_completion_tokens ?? body.max_tokens
  if (maxTokens != null) inference.maxTokens = maxTokens
  if (body.temperature != null) inference.temperature = body.temperature
  if (body.top_p != null) inference.topP = body.top_p
  if (body.stop != null) inference.stopSequences = typeof body.stop === 'string' ? [body.stop] : body.stop

  const choice = body.tool_choice
  return {
    modelId: body.model,
    system: system.filter((text) => text.trim() !== '').join('\n\n') || null,
    messages,
    inference,
    ...functionTools(
      (body.tools ?? []).map((tool) => tool.function),
      typeof choice === 'object' && choice ? choice.function : choice,
      messages,
    ),
  }
}
