// The conversation tree and full-text search through the Worker entry inside workerd, on D1 (FTS5 and the triggers of
// migration 0008 as D1 runs them).
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { call, expectProblem, ORIGIN, readReply, register, type Json, type Registered } from './helpers'

const conversation = async (user: Registered, json: Json = {}) => {
  const reply = await call('POST', '/v1/conversations', { token: user.accessToken, json })
  expect(reply.status, reply.text).toBe(201)
  return reply.body
}
const say = async (user: Registered, id: string, content: string, extra: Json = {}) => {
  const reply = await call('POST', `/v1/conversations/${id}/messages`, { token: user.accessToken, json: { content, stream: false, ...extra } })
  expect(reply.status, reply.text).toBe(201)
  return reply.body
}
const textOf = (message: Json): string => {
  const text = message.parts.map((part: Json) => part.text ?? '').join('')
  return /^You said: "(.*)"\. This is the Bedrock emulator\.$/s.exec(text)?.[1] ?? text
}

describe('conversation tree on D1', () => {
  it('edits, regenerates, switches and continues', async () => {
    const user = await register('tree')
    const conv = await conversation(user)
    const first = await say(user, conv.id, 'alpha')
    const second = await say(user, conv.id, 'beta')
    const edited = await say(user, conv.id, 'gamma', { parentId: first.assistantMessage.id })
    const regenerated = await call('POST', `/v1/messages/${edited.assistantMessage.id}/regenerate`, { token: user.accessToken, json: { stream: false } })
    expect(regenerated.status, regenerated.text).toBe(201)
    let branch = await call('GET', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken })
    expect(branch.body.data.map(textOf)).toEqual(['alpha', 'alpha', 'gamma', 'gamma'])
    expect(branch.body.data[3].id).toBe(regenerated.body.assistantMessage.id)
    expect(branch.body.data[3].siblingIds).toEqual([edited.assistantMessage.id, regenerated.body.assistantMessage.id])
    expect(branch.body.data[2].siblingIds).toEqual([second.userMessage.id, edited.userMessage.id])

    const switched = await call('PATCH', `/v1/conversations/${conv.id}`, { token: user.accessToken, json: { currentLeafId: second.userMessage.id } })
    expect(switched.body.currentLeafId).toBe(second.assistantMessage.id)
    const next = await say(user, conv.id, 'delta')
    expect(next.userMessage.parentId).toBe(second.assistantMessage.id)
    branch = await call('GET', `/v1/conversations/${conv.id}/messages`, { token: user.accessToken })
    expect(branch.body.data.map(textOf)).toEqual(['alpha', 'alpha', 'beta', 'beta', 'delta', 'delta'])
    const all = await call('GET', `/v1/conversations/${conv.id}/messages?branch=all&limit=100`, { token: user.accessToken })
    expect(all.body.data).toHaveLength(9)
    const markdown = await call('GET', `/v1/conversations/${conv.id}/export?format=markdown`, { token: user.accessToken })
    expect(markdown.text).toContain('delta')
    expect(markdown.text).not.toContain('gamma')
  })
})

describe('full-text search on D1', () => {
  it('finds messages and titles over FTS5, takes hostile queries literally, and shows only what the caller may read', async () => {
    const user = await register('search')
    const other = await register('search-other')
    const titled = await conversation(user, { title: 'Crème brûlée' })
    const conv = await conversation(user)
    const turn = await say(user, conv.id, 'A "quoted" (okapi) - NEAR * 🎉 talk')
    const search = async (who: Registered, q: string) => {
      const reply = await call('GET', `/v1/search?q=${encodeURIComponent(q)}&limit=100`, { token: who.accessToken })
      expect(reply.status, reply.text).toBe(200)
      return reply.body.data as Json[]
    }
    expect((await search(user, 'creme BRULEE')).map((hit) => hit.conversationId)).toEqual([titled.id])
    const hits = (await search(user, 'okapi')).filter((hit) => hit.messageId)
    expect(hits.map((hit) => hit.messageId).sort()).toEqual([turn.userMessage.id, turn.assistantMessage.id].sort())
    for (const q of ['"quoted', '(okapi', 'NEAR', '*', '-', '🎉', 'okapi)', '""', 'a AND', '\u0000']) await search(user, q)
    expect((await search(user, '🎉')).length).toBeGreaterThan(0)
    expect(await search(other, 'okapi')).toEqual([])
    const listed = await call('GET', '/v1/conversations?q=okapi', { token: user.accessToken })
    expect(listed.body.data.map((c: Json) => c.id)).toEqual([conv.id])
    expect((await call('GET', '/v1/conversations?q=okapi', { token: other.accessToken })).body.data).toEqual([])
    expectProblem(await call('GET', '/v1/search?q=', { token: user.accessToken }), 400, 'validation_failed')

    expect((await call('DELETE', `/v1/conversations/${conv.id}`, { token: user.accessToken })).status).toBe(204)
    expect(await search(user, 'okapi')).toEqual([])
    const left = await env.DB.prepare('SELECT count(*) AS n FROM search_documents WHERE conversation_id = ?').bind(conv.id).first<{ n: number }>()
    expect(left?.n).toBe(0)
  })
})

describe('generated titles on Workers', () => {
  const titled = { ...env, GENERATE_TITLES: 'true' } as WorkerEnv
  const doEnv: WorkerEnv = { ...titled }
  delete doEnv.STREAM_STATE

  // The title is written in the background, through the request's waitUntil: waiting on the execution context
  // waits for it, with the isolate's memory hub and with the Durable Object hub (the generation runs in the object).
  for (const [hub, workerEnv] of [
    ['memory', titled],
    ['durable-object', doEnv],
  ] as const) {
    it(`titles a conversation after its first turn (${hub} hub)`, async () => {
      const user = await register(`title-${hub}`)
      const conv = await conversation(user)
      const ctx = createExecutionContext()
      const request = new Request(`${ORIGIN}/v1/conversations/${conv.id}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ content: 'Where do puffins nest in summer', stream: false }),
      })
      const reply = await readReply(await worker.fetch(request, workerEnv, ctx))
      expect(reply.status, reply.text).toBe(201)
      await waitOnExecutionContext(ctx)
      const row = await env.DB.prepare('SELECT title, title_source FROM conversations WHERE id = ?').bind(conv.id).first<{ title: string; title_source: string }>()
      expect(row).toEqual({ title: 'Where do puffins nest in summer', title_source: 'generated' })
    })
  }
})
