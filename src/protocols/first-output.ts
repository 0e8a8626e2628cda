import type { SequencedEvent } from '../stream/events'
import { turnFailure } from './openai-chunks'

/**
 * Reads batches until the answer shows itself: content, or the end. A turn that failed before any content is
 * answered as an HTTP error (a throttled model is a 429 the client can retry) rather than a stream.
 */
export async function firstOutput(iterator: AsyncIterator<SequencedEvent[]>): Promise<SequencedEvent[][]> {
  const read: SequencedEvent[][] = []
  for (;;) {
    const next = await iterator.next()
    if (next.done) return read
    read.push(next.value)
    const first = next.value.find((event) => event.type !== 'generation.started' && event.type !== 'usage')
    if (!first) continue
    if (first.type === 'generation.failed') throw turnFailure(first.data.code, first.data.message)
    return read
  }
}

/** The batches already read, then the rest of the iterator's; leaving the loop ends the iterator. */
export async function* prepend(batches: SequencedEvent[][], iterator: AsyncIterator<SequencedEvent[]>): AsyncGenerator<SequencedEvent[]> {
  try {
    yield* batches
    for (;;) {
      const next = await iterator.next()
      if (next.done) return
      yield next.value
    }
  } finally {
    await iterator.return?.()
  }
}
