import { runStatelessTurn } from '../../chat/stateless-turn'
import { AppError } from '../../errors'
import { collectTurn } from '../../protocols/collect-turn'
import { CHAT_COMPLETION_STREAM_HEADERS, chatCompletionOf, chatCompletionStream, turnFailure } from '../../protocols/openai-chunks'
import { statelessTurnOf } from '../../protocols/openai-request'
import type { SequencedEvent } from '../../stream/events'
import type { AppRouteHandler } from '../../types'
import type * as routes from './chat-completions.routes'

/** Our errors name the field `modelId`; OpenAI's request calls it `model`. */
function renamingModel(error: unknown): unknown {
  if (!(error instanceof AppError) || error.extra.errors?.[0]?.path !== 'modelId') return error
  const message = error.extra.errors[0].message
  return new AppError(error.code, `model: ${message}`, { ...error.extra, errors: [{ path: 'model', message }] })
}

/**
 * Reads batches until the answer shows itself: content, or the end. A turn that failed before any content is
 * answered as an HTTP error (a throttled model is a 429 the client can retry) rather than a stream.
 */
async function firstOutput(iterator: AsyncIterator<SequencedEvent[]>): Promise<SequencedEvent[][]> {
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

async function* prepend(batches: SequencedEvent[][], iterator: AsyncIterator<SequencedEvent[]>): AsyncGenerator<SequencedEvent[]> {
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

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const services = c.var.services
  const body = c.req.valid('json')
  const turn = statelessTurnOf(body)
  const events = await runStatelessTurn(services, { ...turn, auth: c.var.auth, signal: c.req.raw.signal }).catch((error: unknown) => {
    throw renamingModel(error)
  })
  const options = { model: body.model, created: Math.floor(services.now().getTime() / 1000) }
  if (!body.stream) return c.json(chatCompletionOf(await collectTurn(events), options), 200)

  const iterator = events[Symbol.asyncIterator]()
  let read: SequencedEvent[][]
  try {
    read = await firstOutput(iterator)
  } catch (error) {
    await iterator.return?.()
    throw error
  }
  const stream = chatCompletionStream(prepend(read, iterator), { ...options, includeUsage: body.stream_options?.include_usage === true })
  return c.body(stream, 200, CHAT_COMPLETION_STREAM_HEADERS) as never
}
