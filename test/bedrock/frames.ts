import { encodeMessage } from '../../src/bedrock/event-stream-encoder'

/** Bedrock-shaped frames for tests. */
export function eventFrame(type: string, payload: object): Uint8Array {
  return encodeMessage({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, JSON.stringify(payload))
}

export function exceptionFrame(type: string, payload: object): Uint8Array {
  return encodeMessage({ ':exception-type': type, ':content-type': 'application/json', ':message-type': 'exception' }, JSON.stringify(payload))
}

export function textTurn(deltas: string[]): Uint8Array[] {
  return [
    eventFrame('messageStart', { role: 'assistant', p: 'abcd' }),
    ...deltas.map((text) => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text }, p: 'abcdefgh' })),
    eventFrame('contentBlockStop', { contentBlockIndex: 0, p: 'ab' }),
    eventFrame('messageStop', { stopReason: 'end_turn', p: 'abc' }),
    eventFrame('metadata', { usage: { inputTokens: 3, outputTokens: deltas.length, totalTokens: 3 + deltas.length }, metrics: { latencyMs: 12 }, p: 'a' }),
  ]
}

export function streamOf(chunks: Uint8Array[], options: { onCancel?: () => void; keepOpen?: boolean } = {}): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk)
      if (!options.keepOpen) controller.close()
    },
    cancel: options.onCancel,
  })
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error?: unknown }> {
  const items: T[] = []
  try {
    for await (const item of iterable) items.push(item)
    return { items }
  } catch (error) {
    return { items, error }
  }
}
