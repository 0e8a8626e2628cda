import { runStatelessTurn } from '../../chat/stateless-turn'
import { collectTurn } from '../../protocols/collect-turn'
import { CHAT_COMPLETION_STREAM_HEADERS, chatCompletionOf, chatCompletionStream, turnFailure } from '../../protocols/openai-chunks'
import { statelessTurnOf } from '../../protocols/openai-request'
import { renamingModel } from '../../protocols/openai-errors'
import type { SequencedEvent } from '../../stream/events'
import { firstOutput, prepend } from '../../protocols/first-output'
import type { AppRouteHandler } from '../../types'
import type * as routes from './chat-completions.routes'

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
