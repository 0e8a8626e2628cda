import { eventStreamBody } from './sse'
import type { SequencedEvent } from '../stream/events'

/**
 * The Vercel AI SDK UI message stream (v1): what the `ai` package's DefaultChatTransport and readUIMessageStream
 * read. Each chunk is `data: {json}`; the stream ends with `data: [DONE]`.
 */
export const UI_MESSAGE_STREAM_HEADERS = {
  'Content-Type': 'text/event-stream',
  'Cache-Control': 'no-cache',
  'X-Vercel-AI-UI-Message-Stream': 'v1',
  'X-Accel-Buffering': 'no',
}

type FinishReason = 'stop' | 'length' | 'content-filter' | 'tool-calls' | 'error' | 'interrupted' | 'other'

const FINISH_REASONS: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  content_filtered: 'content-filter',
  guardrail_intervened: 'content-filter',
}

export const finishReasonOf = (stopReason: string): FinishReason => FINISH_REASONS[stopReason] ?? 'other'

const DONE = 'data: [DONE]\n\n'

/**
 * A stateful encoder for one generation's event batches: each call returns the chunks of one batch as one string.
 * A text or reasoning part opens on its first delta and closes when another kind of part begins or at the end. Each
 * model call of a tool loop is a step: what follows tool results starts a new one.
 */
export function createUiMessageEncoder(): (events: readonly SequencedEvent[]) => string {
  let open: 'text' | 'reasoning' | null = null
  let partId = ''
  let parts = 0
  let conversationId = ''
  let afterResults = false
  let out = ''
  const chunk = (value: object) => {
    out += `data: ${JSON.stringify(value)}\n\n`
  }
  const close = () => {
    if (open) chunk({ type: `${open}-end`, id: partId })
    open = null
  }
  const nextStep = () => {
    if (!afterResults) return
    afterResults = false
    close()
    chunk({ type: 'finish-step' })
    chunk({ type: 'start-step' })
  }
  const delta = (kind: 'text' | 'reasoning', text: string) => {
    nextStep()
    if (open !== kind) {
      close()
      open = kind
      partId = `${kind === 'text' ? 't' : 'r'}${++parts}`
      chunk({ type: `${kind}-start`, id: partId })
    }
    chunk({ type: `${kind}-delta`, id: partId, delta: text })
  }

  return (events) => {
    out = ''
    for (const event of events) {
      switch (event.type) {
        case 'generation.started':
          conversationId = event.data.conversationId
          chunk({
            type: 'start',
            messageId: event.data.assistantMessageId,
            messageMetadata: { conversationId, generationId: event.data.generationId, modelId: event.data.modelId },
          })
          chunk({ type: 'start-step' })
          break
        case 'text.delta':
          delta('text', event.data.delta)
          break
        case 'reasoning.delta':
          delta('reasoning', event.data.delta)
          break
        case 'tool.call':
          nextStep()
          close()
          chunk({ type: 'tool-input-available', toolCallId: event.data.toolUseId, toolName: event.data.name, input: event.data.input ?? {} })
          break
        case 'tool.result':
          close()
          afterResults = true
          if (event.data.isError) chunk({ type: 'tool-output-error', toolCallId: event.data.toolUseId, errorText: errorTextOf(event.data.output) })
          else chunk({ type: 'tool-output-available', toolCallId: event.data.toolUseId, output: event.data.output ?? null })
          break
        case 'usage':
          break
        case 'generation.completed':
          close()
          chunk({ type: 'finish-step' })
          chunk({
            type: 'finish',
            finishReason: finishReasonOf(event.data.stopReason),
            messageMetadata: {
              conversationId,
              generationId: event.data.generationId,
              stopReason: event.data.stopReason,
              usage: event.data.usage,
              latencyMs: event.data.latencyMs,
            },
          })
          out += DONE
          break
        case 'generation.failed':
          close()
          chunk({ type: 'finish-step' })
          chunk({ type: 'error', errorText: `${event.data.message} (${event.data.code})` })
          out += DONE
          break
        case 'generation.cancelled':
          close()
          chunk({ type: 'finish-step' })
          chunk({ type: 'abort', reason: 'cancelled' })
          out += DONE
          break
      }
    }
    return out
  }
}

const errorTextOf = (output: unknown) => (typeof output === 'string' ? output : JSON.stringify(output ?? 'The tool failed'))


/** Streams event batches as UI message chunks (with pings while idle; a batch of usage alone writes nothing). */
export function uiMessageStream(batches: AsyncIterable<SequencedEvent[]>, pingMs = 15_000): ReadableStream<Uint8Array> {
  return eventStreamBody(batches, createUiMessageEncoder(), pingMs)
}
