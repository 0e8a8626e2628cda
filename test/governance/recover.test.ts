/** A turn whose producer is gone (a crash, an evicted Durable Object) gives back what its limit check held when it is recovered. */
import { afterAll, describe, expect, it } from 'vitest'
import { buildServices } from '../../src/app'
import type { BedrockClient, ConverseStreamEvent } from '../../src/bedrock/types'
import { chatTask } from '../../src/chat/chat-task'
import { startTurn } from '../../src/chat/turns'
import { writeLimits } from '../../src/governance/limits'
import type { AuthContext } from '../../src/types'
import { createTestApp, type TestApp } from '../helpers'

const apps: TestApp[] = []
afterAll(() => apps.forEach((app) => app.close()))

/** A model that never answers until its call is aborted. */
const silent: BedrockClient = {
  converse: () => Promise.reject(new Error('not used')),
  converseStream: async (_request, options) =>
    (async function* (): AsyncGenerator<ConverseStreamEvent> {
      await new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal!.reason)))
    })(),
}

describe('recovering an interrupted turn', () => {
  it('releases its concurrency slot', async () => {
    const t = await createTestApp()
    apps.push(t)
    const services = buildServices({ config: t.config, db: t.db, models: silent })
    const user = await t.register()
    await writeLimits(t.db, user.workspace.id, { perMember: { period: 'day', maxConcurrentGenerations: 1 } }, new Date())
    const auth: AuthContext = { userId: user.user.id, apiKeyId: null, workspaceScope: null, scopes: ['read', 'chat', 'admin'] }
    const conversation = async () => (await (await user.call('POST', '/v1/conversations', { body: {} })).json()).id as string
    const options = { waitUntil: () => {} }

    const stuck = await startTurn(services, auth, await conversation(), { content: 'hello' }, options)
    const second = await conversation()
    await expect(startTurn(services, auth, second, { content: 'hello' }, options)).rejects.toMatchObject({ code: 'rate_limited' })
    // Its producer is gone as far as the stream state is concerned: the task's recover ends it.
    await chatTask.recover!(services, stuck.generation.id, [])
    const admitted = await startTurn(services, auth, second, { content: 'hello' }, options)
    expect(admitted.replayed).toBe(false)
    for (const id of [stuck.generation.id, admitted.generation.id]) await services.hub.cancel(id)
  })
})
