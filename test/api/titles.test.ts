import { afterAll, describe, expect, it } from 'vitest'
import type { UsageRecord } from '../../src/chat/governance'
import { cleanTitle } from '../../src/chat/titles'
import { parseConfig } from '../../src/config'
import { setGeneratedTitle } from '../../src/db/repositories/conversations'
import type { Logger } from '../../src/lib/logger'
import { startHttpEmulator } from '../helpers'
import { createHttpTestApp, type HttpTestApp } from './http-app'

const DEFAULT_MODEL = 'amazon.nova-lite-v1:0'
const TITLE_MODEL = 'amazon.nova-micro-v1:0'

const closers: (() => unknown)[] = []
afterAll(async () => {
  for (const close of closers.reverse()) await close()
})

/** The app over real HTTP, Bedrock over real HTTP (the emulator serving only `served`), usage and warnings recorded. */
async function setup(env: Record<string, string>, served?: string[]) {
  const emulator = await startHttpEmulator(served ? { models: served } : {})
  const usage: UsageRecord[] = []
  const warnings: { message: string; fields: Record<string, unknown> }[] = []
  const noop = () => {}
  const logger: Logger = { debug: noop, info: noop, error: noop, warn: (message: string, fields?: Record<string, unknown>) => warnings.push({ message, fields: fields ?? {} }) } as Logger
  const t: HttpTestApp = await createHttpTestApp({ GENERATE_TITLES: 'true', ...env }, {
    models: emulator.client(),
    logger,
    governance: { checkLimits: () => Promise.resolve(), releaseLimits: () => Promise.resolve(), recordUsage: async (record) => void usage.push(record), limitsChanged: () => {} },
  })
  closers.push(emulator.close, t.close)
  return { t, usage, warnings }
}

const json = async (res: Response, status = 200) => {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`)
  return JSON.parse(text)
}

/** Polls until `check` returns a value. */
async function eventually<T>(check: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 500; i++) {
    const value = await check()
    if (value !== undefined) return value
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error(`${what}: not reached`)
}

describe('generated titles', () => {
  it('titles a conversation after its first completed turn, by TITLE_MODEL_ID, and records the usage', async () => {
    const { t, usage } = await setup({ TITLE_MODEL_ID: TITLE_MODEL })
    const user = await t.register()
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const turn = await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Plan a weekend trip to Lisbon in spring', stream: false } }), 201)
    const titleUsage = await eventually(async () => usage.find((record) => record.modelId === TITLE_MODEL), 'title usage')
    expect(titleUsage).toMatchObject({ userId: user.user.id, conversationId: conv.id, outcome: 'completed', apiKeyId: null })
    expect(titleUsage.inputTokens).toBeGreaterThan(0)
    expect(titleUsage.outputTokens).toBeGreaterThan(0)
    expect(titleUsage.generationId).not.toBe(turn.assistantMessage.id)
    // The emulator's title: the first six words, quoted; the quotes are taken off.
    const title = await eventually(async () => {
      const current = await json(await user.call('GET', `/v1/conversations/${conv.id}`))
      return current.title === 'Plan a weekend trip to Lisbon' ? current.title : undefined
    }, 'generated title')
    expect(title).toBe('Plan a weekend trip to Lisbon')

    // One title per conversation: later turns leave it.
    await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'And in autumn?', stream: false } }), 201)
    await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'Thanks', stream: false } }), 201)
    expect(usage.filter((record) => record.modelId === TITLE_MODEL)).toHaveLength(1)
    expect((await json(await user.call('GET', `/v1/conversations/${conv.id}`))).title).toBe(title)
  })

  it('never overwrites a title the user set, at creation or while the title is written', async () => {
    const { t, usage } = await setup({ TITLE_MODEL_ID: TITLE_MODEL })
    const user = await t.register()
    const named = await json(await user.call('POST', '/v1/conversations', { body: { title: 'Mine' } }), 201)
    await json(await user.call('POST', `/v1/conversations/${named.id}/messages`, { body: { content: 'hello there', stream: false } }), 201)
    const untitled = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    await json(await user.call('POST', `/v1/conversations/${untitled.id}/messages`, { body: { content: 'hello again', stream: false } }), 201)
    await eventually(async () => usage.find((record) => record.modelId === TITLE_MODEL && record.conversationId === untitled.id), 'the untitled one titled')
    expect(usage.filter((record) => record.modelId === TITLE_MODEL && record.conversationId === named.id)).toEqual([])
    expect((await json(await user.call('GET', `/v1/conversations/${named.id}`))).title).toBe('Mine')

    // A title arriving after the user renamed the conversation is dropped (the write is conditional).
    const raced = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    await json(await user.call('POST', `/v1/conversations/${raced.id}/messages`, { body: { content: 'first words', stream: false } }), 201)
    await json(await user.call('PATCH', `/v1/conversations/${raced.id}`, { body: { title: 'Renamed by me' } }))
    expect(await setGeneratedTitle(t.db, raced.id, 'Late model title')).toBe(false)
    expect((await json(await user.call('GET', `/v1/conversations/${raced.id}`))).title).toBe('Renamed by me')
    // Cleared by the user, the title may be generated again (a conversation with no turn: no title task of its own).
    const cleared = await json(await user.call('POST', '/v1/conversations', { body: { title: 'Temporary' } }), 201)
    expect(await setGeneratedTitle(t.db, cleared.id, 'Model title')).toBe(false)
    await json(await user.call('PATCH', `/v1/conversations/${cleared.id}`, { body: { title: null } }))
    expect(await setGeneratedTitle(t.db, cleared.id, 'Model title')).toBe(true)
    expect((await json(await user.call('GET', `/v1/conversations/${cleared.id}`))).title).toBe('Model title')
  })

  it('keeps the old title when the title model fails, logs it, and the turn never notices', async () => {
    const { t, usage, warnings } = await setup({ TITLE_MODEL_ID: TITLE_MODEL }, [DEFAULT_MODEL])
    const user = await t.register()
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const res = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'A question about tides' } })
    const events = await res.text()
    expect(events).toContain('event: generation.completed')
    expect(events).not.toContain('generation.failed')
    const warning = await eventually(async () => warnings.find((entry) => entry.message === 'title generation failed'), 'the logged failure')
    expect(warning.fields).toMatchObject({ conversationId: conv.id, modelId: TITLE_MODEL })
    // A refused model call used nothing: no usage is recorded for it (what its limit check held is given back).
    expect(usage.find((record) => record.modelId === TITLE_MODEL)).toBeUndefined()
    // The first message's words stay the title.
    expect((await json(await user.call('GET', `/v1/conversations/${conv.id}`))).title).toBe('A question about tides')
  })

  it('asks for nothing when titles are off', async () => {
    const { t, usage } = await setup({ GENERATE_TITLES: 'false' })
    const user = await t.register()
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'no title model please', stream: false } }), 201)
    await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'still none', stream: false } }), 201)
    expect(usage.map((record) => record.modelId)).toEqual([DEFAULT_MODEL, DEFAULT_MODEL])
  })

  it('refuses a TITLE_MODEL_ID outside MODEL_IDS', () => {
    expect(() => parseConfig({ JWT_SECRET: 'x'.repeat(40), MODEL_IDS: DEFAULT_MODEL, TITLE_MODEL_ID: TITLE_MODEL })).toThrow(/TITLE_MODEL_ID: must be one of MODEL_IDS/)
    expect(parseConfig({ JWT_SECRET: 'x'.repeat(40), MODEL_IDS: `${DEFAULT_MODEL},${TITLE_MODEL}`, TITLE_MODEL_ID: TITLE_MODEL }).TITLE_MODEL_ID).toBe(TITLE_MODEL)
  })

  it('cleans what the model answers', () => {
    expect(cleanTitle('"Trip to Lisbon".')).toBe('Trip to Lisbon')
    expect(cleanTitle('Title: «Les marées»')).toBe('Les marées')
    expect(cleanTitle('  **Tides**\n')).toBe('Tides')
    expect(cleanTitle('""')).toBeNull()
    expect(cleanTitle('x'.repeat(200))).toHaveLength(80)
    expect(cleanTitle('👨‍👩‍👧 family'.repeat(20))!.length).toBeGreaterThan(0)
  })
})
