import { Hono } from 'hono'
import { statusByErrorType } from '../bedrock-error'
import { encodeHeaders, encodeMessage } from '../event-stream-encoder'
import { DirectiveError, parseDirectives } from './directives'
import { validateConverseRequest } from './request-validation'
import { contentBlocks, resultsAnswer, scriptAnswer, TITLE_REQUEST, titleAnswer, type ScriptedAnswer } from './scripted-answer'
import { structuredAnswer } from './structured-output'
import { createSigV4Verifier, type VerifierCredentials } from './sigv4-verifier'

export interface BedrockEmulatorOptions {
  /** SigV4 credentials the emulator accepts (service 'bedrock'). */
  credentials: VerifierCredentials | VerifierCredentials[]
  /** Also accept `Authorization: Bearer <apiKey>`. */
  apiKey?: string
  /** Only accept this region in the signature's scope; any region when unset. */
  region?: string
  /** When set, other model ids get Bedrock's 400 "The provided model identifier is invalid." */
  models?: readonly string[]
  now?: () => number
  sleep?: (ms: number) => Promise<void>
  /** Called once per ConverseStream response when its body ends: sent in full, ended by an exception frame, or cancelled by the client. */
  onStreamEnd?: (info: { modelId: string; outcome: 'completed' | 'failed' | 'cancelled'; framesSent: number }) => void
}

type Operation = 'converse' | 'converse-stream'
type Json = Record<string, unknown>

const utf8 = new TextDecoder()

/**
 * A Bedrock Runtime stand-in speaking the real wire protocol (SigV4 checked, Bedrock's error
 * headers and JSON, binary event-stream frames). Answers are scripted from the last user message;
 * see directives.ts for the `[[emulator …]]` settings.
 */
export function createBedrockEmulator(options: BedrockEmulatorOptions): Hono {
  const now = options.now ?? Date.now
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)))
  const verify = createSigV4Verifier({
    credentials: Array.isArray(options.credentials) ? options.credentials : [options.credentials],
    service: 'bedrock',
    region: options.region,
    now,
  })
  const scriptedErrorsSeen = new Map<string, number>()

  async function handle(operation: Operation, request: Request, modelId: string): Promise<Response> {
    const started = now()
    const body = new Uint8Array(await request.arrayBuffer())
    const authorization = request.headers.get('authorization') ?? ''
    if (options.apiKey !== undefined && authorization.startsWith('Bearer ')) {
      if (authorization.slice(7) !== options.apiKey) return errorResponse('UnrecognizedClientException', 'The API key included in the request is invalid.', 403)
    } else {
      const verdict = await verify({ method: request.method, url: new URL(request.url), headers: request.headers, body })
      if (!verdict.ok) return errorResponse(verdict.type, verdict.message, 403)
    }

    let input: unknown
    try {
      input = JSON.parse(utf8.decode(body))
    } catch {
      return errorResponse('ValidationException', 'Malformed input request, please reformat your input and try again.')
    }
    if (options.models && !options.models.includes(modelId)) return errorResponse('ValidationException', 'The provided model identifier is invalid.')
    const problem = validateConverseRequest(input)
    if (problem) return errorResponse('ValidationException', problem)
    const converseRequest = input as { messages: Json[]; system?: Json[]; inferenceConfig?: { maxTokens?: number }; toolConfig?: unknown }
    const structured = structuredAnswer(input as Json)
    if (structured && 'error' in structured) return errorResponse('ValidationException', structured.error)

    // After tool results, the directives are those of the user's own prompt (the last user text).
    const results = toolResultsOfLastMessage(converseRequest.messages)
    const text = lastUserText(converseRequest.messages)
    // A conversation title request (src/chat/titles.ts) quotes the user's text, directives included: answered as a title.
    if (converseRequest.system?.some((block) => typeof block.text === 'string' && block.text.startsWith(TITLE_REQUEST))) {
      const answer = titleAnswer(text.replace(/\[\[emulator[^\]]*\]\]/g, ' '))
      const usage = { inputTokens: estimateInputTokens(converseRequest), outputTokens: answer.outputTokens }
      return operation === 'converse' ? converseResponse(answer, usage, started) : streamResponse(answer, usage, started, modelId)
    }
    let parsed: ReturnType<typeof parseDirectives>
    try {
      parsed = parseDirectives(text)
    } catch (error) {
      if (error instanceof DirectiveError) return errorResponse('ValidationException', `Emulator directive: ${error.message}`)
      throw error
    }
    const { directives, prompt } = parsed
    if (results && !(directives.repeat && directives.tools && converseRequest.toolConfig)) {
      const answer = resultsAnswer(results, directives)
      const usage = { inputTokens: estimateInputTokens(converseRequest), outputTokens: answer.outputTokens }
      return operation === 'converse' ? converseResponse(answer, usage, started) : streamResponse(answer, usage, started, modelId)
    }
    if (directives.error !== undefined && !results) {
      const status = statusByErrorType[directives.error]
      if (status === undefined) return errorResponse('ValidationException', `Emulator directive: unknown error type ${directives.error}`)
      const seen = scriptedErrorsSeen.get(text) ?? 0
      if (directives.times === undefined || seen < directives.times) {
        scriptedErrorsSeen.set(text, seen + 1)
        return errorResponse(directives.error, directives.errorMessage ?? `Emulated ${directives.error}.`, status)
      }
    }

    // Each repeated call gets its own toolUseId: the script's seed takes the conversation's length.
    const answer = scriptAnswer(results ? `${text}#${converseRequest.messages.length}` : text, prompt, directives, converseRequest.inferenceConfig?.maxTokens, structured?.json)
    const usage = { inputTokens: estimateInputTokens(converseRequest), outputTokens: answer.outputTokens }
    return operation === 'converse'
      ? converseResponse(answer, usage, started)
      : streamResponse(answer, usage, started, modelId)
  }

  async function converseResponse(answer: ScriptedAnswer, usage: Usage, started: number): Promise<Response> {
    const deltas = (answer.reasoning?.deltas.length ?? 0) + answer.textDeltas.length + (answer.tools ?? []).reduce((sum, tool) => sum + tool.inputChunks.length, 0)
    const pacing = answer.ttftMs + answer.delayMs * Math.max(0, deltas - 1)
    if (pacing > 0) await sleep(pacing)
    if (answer.failure) {
      const type = answer.failure.exceptionType === 'modelStreamErrorException' ? 'ModelErrorException' : pascal(answer.failure.exceptionType)
      return errorResponse(type, answer.failure.message ?? 'Emulated model failure.', statusByErrorType[type] ?? 424)
    }
    return Response.json(
      {
        output: { message: { role: 'assistant', content: contentBlocks(answer) } },
        stopReason: answer.stopReason,
        usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
        metrics: { latencyMs: now() - started },
      },
      { headers: { 'x-amzn-requestid': crypto.randomUUID() } },
    )
  }

  function streamResponse(answer: ScriptedAnswer, usage: Usage, started: number, modelId: string): Response {
    const steps = streamSteps(answer, usage, () => now() - started)
    let index = 0
    let framesSent = 0
    let cancelled = false
    let ended = false
    const end = (outcome: 'completed' | 'failed' | 'cancelled') => {
      if (ended) return
      ended = true
      options.onStreamEnd?.({ modelId, outcome, framesSent })
    }
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const step = steps[index++]
        if (!step) {
          controller.close()
          end(answer.failure ? 'failed' : 'completed')
          return
        }
        const emit = () => {
          if (cancelled) return
          controller.enqueue(typeof step.frame === 'function' ? step.frame() : step.frame)
          framesSent++
        }
        if (step.delayMs > 0) return sleep(step.delayMs).then(emit)
        emit()
      },
      cancel() {
        cancelled = true
        end('cancelled')
      },
    })
    return new Response(body, {
      headers: { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': crypto.randomUUID() },
    })
  }

  const app = new Hono()
  app.post('/model/:modelId/converse', (c) => handle('converse', c.req.raw, c.req.param('modelId')))
  app.post('/model/:modelId/converse-stream', (c) => handle('converse-stream', c.req.raw, c.req.param('modelId')))
  app.notFound(() => errorResponse('UnknownOperationException', 'Unknown operation.', 404))
  app.onError((error) => errorResponse('InternalServerException', `Emulator failure: ${error instanceof Error ? error.message : String(error)}`))
  return app
}

interface Usage {
  inputTokens: number
  outputTokens: number
}

interface Step {
  delayMs: number
  frame: Uint8Array | (() => Uint8Array)
}

/** The ConverseStream frames for `answer`, in Bedrock's order, each with the pause before it. */
function streamSteps(answer: ScriptedAnswer, usage: Usage, elapsedMs: () => number): Step[] {
  const steps: Step[] = []
  let deltasSoFar = 0
  const event = (type: string, payload: Json, delayMs = 0) => steps.push({ delayMs, frame: eventFrame(type, payload, steps.length) })
  const delta = (index: number, body: Json) => {
    event('contentBlockDelta', { contentBlockIndex: index, delta: body }, deltasSoFar++ === 0 ? 0 : answer.delayMs)
  }

  event('messageStart', { role: 'assistant' }, answer.ttftMs)
  let index = 0
  if (answer.reasoning) {
    for (const text of answer.reasoning.deltas) delta(index, { reasoningContent: { text } })
    delta(index, { reasoningContent: { signature: answer.reasoning.signature } })
    event('contentBlockStop', { contentBlockIndex: index++ })
  }
  const failAt = answer.failure?.afterTextDeltas
  for (let i = 0; i < answer.textDeltas.length; i++) {
    if (i === failAt) break
    delta(index, { text: answer.textDeltas[i] })
  }
  if (answer.failure) {
    steps.push({ delayMs: 0, frame: exceptionFrame(answer.failure.exceptionType, answer.failure.message) })
    return steps
  }
  if (answer.textDeltas.length > 0) event('contentBlockStop', { contentBlockIndex: index++ })
  for (const tool of answer.tools ?? []) {
    event('contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId: tool.toolUseId, name: tool.name } } })
    for (const input of tool.inputChunks) delta(index, { toolUse: { input } })
    event('contentBlockStop', { contentBlockIndex: index++ })
  }
  event('messageStop', { stopReason: answer.stopReason })
  steps.push({
    delayMs: 0,
    frame: () =>
      eventFrame(
        'metadata',
        { usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens }, metrics: { latencyMs: elapsedMs() } },
        steps.length,
      ),
  })
  return steps
}

const eventHeaders = new Map<string, Uint8Array>()
const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

/** Like Bedrock, every event payload carries a padding field `p` of varying length. */
function eventFrame(type: string, payload: Json, sequence: number): Uint8Array {
  let headers = eventHeaders.get(type)
  if (!headers) {
    headers = encodeHeaders({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' })
    eventHeaders.set(type, headers)
  }
  return encodeMessage(headers, JSON.stringify({ ...payload, p: PADDING.slice(0, 1 + ((sequence * 11) % PADDING.length)) }))
}

function exceptionFrame(exceptionType: string, message = 'Emulated mid-stream failure.'): Uint8Array {
  const payload: Json = { message }
  if (exceptionType === 'modelStreamErrorException') Object.assign(payload, { originalStatusCode: 500, originalMessage: 'Emulated model error.' })
  return encodeMessage({ ':exception-type': exceptionType, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify(payload))
}

function errorResponse(type: string, message: string, status = statusByErrorType[type] ?? 400): Response {
  return new Response(JSON.stringify({ message }), {
    status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': `${type}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
      'x-amzn-requestid': crypto.randomUUID(),
    },
  })
}

/** The text of the last user message that has text of its own (the user's prompt, past any tool results). */
function lastUserText(messages: Json[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!
    if (message.role !== 'user') continue
    const texts = (message.content as Json[]).filter((block) => typeof block.text === 'string').map((block) => block.text as string)
    if (texts.length > 0) return texts.join('\n')
  }
  return ''
}

/** Each tool result's text when the last message is a user message of tool results only; null otherwise. */
function toolResultsOfLastMessage(messages: Json[]): string[] | null {
  const last = messages[messages.length - 1]
  if (last?.role !== 'user') return null
  const blocks = last.content as Json[]
  if (blocks.some((block) => typeof block.text === 'string') || !blocks.some((block) => block.toolResult)) return null
  return blocks.flatMap((block) => {
    const content = (block.toolResult as Json | undefined)?.content as Json[] | undefined
    return content ? [content.map((item) => (typeof item.text === 'string' ? item.text : JSON.stringify(item.json))).join('\n')] : []
  })
}

/** About four characters per token, over every text in the request. */
function estimateInputTokens(request: { messages: Json[]; system?: Json[] }): number {
  let characters = 0
  for (const block of request.system ?? []) if (typeof block.text === 'string') characters += block.text.length
  for (const message of request.messages) {
    for (const block of message.content as Json[]) {
      if (typeof block.text === 'string') characters += block.text.length
      else characters += JSON.stringify(block).length
    }
  }
  return Math.max(1, Math.ceil(characters / 4))
}

function pascal(type: string): string {
  return type.charAt(0).toUpperCase() + type.slice(1)
}
