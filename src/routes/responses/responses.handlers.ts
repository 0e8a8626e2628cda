import { firstOutput, prepend } from '../../protocols/first-output'
import { turnFailure } from '../../protocols/openai-chunks'
import { createResponsesEncoder, RESPONSE_STREAM_HEADERS, responseObject } from '../../protocols/responses-stream'
import { eventStreamBody } from '../../protocols/sse'
import { cancelResponse, createResponse, deleteStoredResponse, headOf, loadResponse, responseEvents, responseInputItems, storedState } from '../../services/responses'
import type { SequencedEvent } from '../../stream/events'
import type { AppRouteHandler } from '../../types'
import { waitUntil } from '../generations/event-stream'
import type * as routes from './responses.routes'

export const create: AppRouteHandler<typeof routes.create> = async (c) => {
  const services = c.var.services
  const body = c.req.valid('json')
  const { head, events } = await createResponse(services, c.var.auth, body, { waitUntil: waitUntil(c), signal: c.req.raw.signal })
  const encode = createResponsesEncoder(head, { now: () => services.now().getTime() })
  const iterator = events[Symbol.asyncIterator]()

  if (body.background && !body.stream) {
    // Answered at once: the generation runs on, detached; this request only stops following it.
    await iterator.return?.()
    return c.json(encode.snapshot(), 200)
  }
  if (!body.stream) {
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) encode(next.value)
    const response = encode.snapshot()
    if (response.status === 'failed' && response.error) throw turnFailure(response.error.code, response.error.message)
    return c.json(response, 200)
  }
  // A failure before any output is an HTTP error (a throttled model: a 429 the client retries), unless the response
  // runs in the background, whose stream is the record of what happened.
  let read: SequencedEvent[][] = []
  if (!body.background) {
    try {
      read = await firstOutput(iterator)
    } catch (error) {
      await iterator.return?.()
      throw error
    }
  }
  return c.body(eventStreamBody(prepend(read, iterator), encode), 200, RESPONSE_STREAM_HEADERS) as never
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const services = c.var.services
  const stored = await loadResponse(services, c.var.auth, c.req.valid('param').id)
  const query = c.req.valid('query')
  if (query.stream === 'true') {
    const encode = createResponsesEncoder(headOf(services, stored.row), { startingAfter: query.starting_after, now: () => services.now().getTime() })
    return c.body(eventStreamBody(await responseEvents(services, stored), encode), 200, RESPONSE_STREAM_HEADERS) as never
  }
  return c.json(responseObject(headOf(services, stored.row), storedState(stored.generation, stored.message)), 200)
}

export const cancel: AppRouteHandler<typeof routes.cancel> = async (c) => {
  const services = c.var.services
  const stored = await cancelResponse(services, c.var.auth, c.req.valid('param').id)
  return c.json(responseObject(headOf(services, stored.row), storedState(stored.generation, stored.message)), 200)
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  const id = c.req.valid('param').id
  await deleteStoredResponse(c.var.services, c.var.auth, id)
  return c.json({ id, object: 'response' as const, deleted: true as const }, 200)
}

export const inputItems: AppRouteHandler<typeof routes.inputItems> = async (c) => {
  const { order, after, limit } = c.req.valid('query')
  const all = await responseInputItems(c.var.services, c.var.auth, c.req.valid('param').id)
  if (order === 'desc') all.reverse()
  const from = after === undefined ? 0 : all.findIndex((item) => item.id === after) + 1
  const data = from === 0 && after !== undefined ? [] : all.slice(from, from + limit)
  return c.json({ object: 'list' as const, data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: from + limit < all.length }, 200)
}
