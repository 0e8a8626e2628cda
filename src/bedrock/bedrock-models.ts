import { isAbortError } from './abort'
import { BedrockError, publicMessage, toApiErrorCode } from './bedrock-error'
import { buildConverseMessages } from './content-mapping'
import type { BedrockClient, ConverseRequest, ConverseStreamEvent, ConverseStreamEvents } from './types'
import { ModelError, type ModelClient, type ModelPart, type ModelRequest } from '../models/model-client'

/** Our request as a Converse request: history mapped by buildConverseMessages, the system prompt as one block. */
export function toConverseRequest(request: ModelRequest): ConverseRequest {
  return {
    modelId: request.modelId,
    messages: buildConverseMessages(request.messages, { toolsAsText: !request.tools?.length }),
    ...(request.system ? { system: [{ text: request.system }] } : {}),
    inferenceConfig: request.inference,
    ...(request.tools?.length ? { toolConfig: toConverseToolConfig(request.tools, request.toolChoice) } : {}),
    ...(request.textFormat ? { outputConfig: toConverseOutputConfig(request.textFormat) } : {}),
  }
}

function toConverseOutputConfig({ name, description, schema }: NonNullable<ModelRequest['textFormat']>): NonNullable<ConverseRequest['outputConfig']> {
  return { textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name, ...(description ? { description } : {}) } } } }
}

function toConverseToolConfig(tools: NonNullable<ModelRequest['tools']>, choice: ModelRequest['toolChoice']): NonNullable<ConverseRequest['toolConfig']> {
  return {
    tools: tools.map(({ name, description, inputSchema }) => ({ toolSpec: { name, ...(description ? { description } : {}), inputSchema: { json: inputSchema } } })),
    ...(choice?.type === 'any' ? { toolChoice: { any: {} } } : choice?.type === 'tool' ? { toolChoice: { tool: { name: choice.name } } } : {}),
  }
}

/** A BedrockError as the neutral ModelError: our code and public message, Bedrock's own text for the log only. */
export function toModelError(error: unknown): unknown {
  if (!(error instanceof BedrockError)) return error
  return new ModelError({
    code: toApiErrorCode(error),
    message: publicMessage(error),
    retryable: error.retryable,
    status: error.status,
    log: { upstreamRequestId: error.requestId, upstreamType: error.type, upstreamStatus: error.status, upstreamMessage: error.message, attempts: error.attempts },
    cause: error,
  })
}

/**
 * Converse events → model parts, in place (the batch array is the decoder's own, fresh per chunk): text and reasoning
 * deltas already have the neutral shape and pass as they are; events that carry nothing for us are dropped.
 */
function toParts(batch: ConverseStreamEvent[]): ModelPart[] {
  const parts = batch as unknown as ModelPart[]
  let kept = 0
  for (let i = 0; i < batch.length; i++) {
    const event = batch[i]!
    let part: ModelPart | undefined
    switch (event.type) {
      case 'textDelta':
      case 'reasoningDelta':
        part = event
        break
      case 'contentBlockStart':
        if (event.toolUse) part = { type: 'toolCallStart', index: event.index, toolCallId: event.toolUse.toolUseId, name: event.toolUse.name }
        break
      case 'toolUseDelta':
        part = { type: 'toolCallDelta', index: event.index, input: event.input }
        break
      case 'contentBlockStop':
        part = { type: 'blockEnd', index: event.index }
        break
      case 'messageStop':
        part = { type: 'stop', reason: event.stopReason }
        break
      case 'metadata':
        part = {
          type: 'usage',
          usage: {
            inputTokens: event.usage.inputTokens,
            outputTokens: event.usage.outputTokens,
            ...(event.usage.cacheReadInputTokens ? { cacheReadTokens: event.usage.cacheReadInputTokens } : {}),
            ...(event.usage.cacheWriteInputTokens ? { cacheWriteTokens: event.usage.cacheWriteInputTokens } : {}),
          },
        }
        break
    }
    if (part) parts[kept++] = part
  }
  parts.length = kept
  return parts
}

async function* oneByOne(events: AsyncIterable<ConverseStreamEvent>): AsyncGenerator<ConverseStreamEvent[]> {
  for await (const event of events) yield [event]
}

/** The answer's parts, batch by batch; BedrockErrors become ModelErrors. Ending the loop cancels the body. */
function modelParts(events: ConverseStreamEvents): AsyncIterable<ModelPart[]> {
  const batches = (events.batches ? events.batches() : oneByOne(events))[Symbol.asyncIterator]()
  const parts: AsyncIterableIterator<ModelPart[]> = {
    [Symbol.asyncIterator]: () => parts,
    next: () =>
      batches.next().then(
        (next) => (next.done ? next : { done: false, value: toParts(next.value) }),
        (error: unknown) => Promise.reject(toModelError(error)),
      ),
    return: async () => {
      await batches.return?.()
      return { done: true, value: undefined }
    },
  }
  return parts
}

/** Bedrock Converse as the app's ModelClient. */
export function bedrockModelClient(client: BedrockClient): ModelClient {
  return {
    async stream(request, { signal }) {
      try {
        return modelParts(await client.converseStream(toConverseRequest(request), { signal }))
      } catch (error) {
        if (isAbortError(error)) throw error
        throw toModelError(error)
      }
    },
  }
}
