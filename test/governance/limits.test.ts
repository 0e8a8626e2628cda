/**
 * Limits per workspace, per member and per API key over the real app (libsql, the emulator over HTTP, memory
 * counters): GET/PUT /v1/workspaces/{id}/limits, budgets read from the ledger that refill exactly at the UTC period's
 * end, requests per minute, concurrent generations, the headers, and refused turns that store nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse } from '../sse'

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
const apps: TestApp[] = []
/** The app's clock (services.now): tests move it across minute and period boundaries. */
let clock = new Date('2026-03-31T23:58:30.000Z')

beforeAll(async () => {
  emulator = await startHttpEmulator()
})
afterAll(async () => {
  for (const app of apps) app.close()
  await emulator.close()
})

async function app(env: Record<string, string> = {}) {
  const t = await createTestApp(env, { models: emulator.client({ baseDelayMs: 2 }), now: () => clock })
  apps.push(t)
  return t
}

type User = Awaited<ReturnType<TestApp['register']>>

const conversation = async (user: User | { call: User['call'] }, body: Record<string, unknown> = {}) => (await (await user.call('POST', '/v1/conversations', { body })).json()).id as string
const send = (user: { call: User['call'] }, conversationId: string, content = 'Hello [[emulator tokens=5]]') =>
  user.call('POST', `/v1/conversations/${conversationId}/messages`, { body: { content, stream: false } })
const count = async (t: TestApp, table: string) => Number((await t.client.execute(`select count(*) as n from ${table}`)).rows[0]!.n)

async function member(t: TestApp, owner: User, role = 'member') {
  const user = await t.register()
  const invite = await (await owner.call('POST', `/v1/workspaces/${owner.workspace.id}/members`, { body: { email: user.email, role } })).json()
  expect((await user.call('POST', `/v1/me/invitations/${invite.id}/accept`)).status).toBeLessThan(300)
  return user
}

describe('GET, PUT /v1/workspaces/{id}/limits', () => {
  it('round-trips limits for admins; members get 403, strangers 404', async () => {
    const t = await app()
    const owner = await t.register()
    const ws = owner.workspace.id
    expect(await (await owner.call('GET', `/v1/workspaces/${ws}/limits`)).json()).toEqual({})
    const limits = {
      workspace: { period: 'month', maxCostUsd: 12.345678, maxTokens: 1_000_000 },
      perMember: { period: 'day', maxRequestsPerMinute: 30, maxConcurrentGenerations: 2 },
      perApiKey: null,
    }
    const put = await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: limits })
    expect(put.status).toBe(200)
    const expected = { workspace: limits.workspace, perMember: limits.perMember }
    expect(await put.json()).toEqual(expected)
    expect(await (await owner.call('GET', `/v1/workspaces/${ws}/limits`)).json()).toEqual(expected)

    const admin = await member(t, owner, 'admin')
    expect(await (await admin.call('GET', `/v1/workspaces/${ws}/limits`)).json()).toEqual(expected)
    const plain = await member(t, owner)
    await expectProblem(await plain.call('GET', `/v1/workspaces/${ws}/limits`), 403, 'forbidden')
    await expectProblem(await plain.call('PUT', `/v1/workspaces/${ws}/limits`, { body: {} }), 403, 'forbidden')
    const stranger = await t.register()
    await expectProblem(await stranger.call('PUT', `/v1/workspaces/${ws}/limits`, { body: {} }), 404, 'not_found')
    const readOnly = await (await owner.call('POST', '/v1/api-keys', { body: { name: 'ro', scopes: ['read'] } })).json()
    await expectProblem(await t.request('PUT', `/v1/workspaces/${ws}/limits`, { token: readOnly.key, body: {} }), 403, 'forbidden')
    // Clearing: an empty body leaves no limits.
    expect(await (await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: {} })).json()).toEqual({})
  })

  it('refuses bad limits with 400 naming the field, and stores nothing', async () => {
    const t = await app()
    const owner = await t.register()
    const ws = owner.workspace.id
    const bad: [unknown, string][] = [
      [{ workspace: { period: 'week' } }, 'workspace.period'],
      [{ workspace: { period: 'day', maxCostUsd: -1 } }, 'workspace.maxCostUsd'],
      [{ workspace: { period: 'day', maxCostUsd: 0.0000001 } }, 'workspace.maxCostUsd'],
      [{ perMember: { period: 'day', maxTokens: 1.5 } }, 'perMember.maxTokens'],
      [{ perApiKey: { maxTokens: 10 } }, 'perApiKey.period'],
      [{ perApiKey: { period: 'day', maxCostUSD: 10 } }, 'perApiKey'],
      [{ everyone: { period: 'day' } }, ''],
    ]
    for (const [body, path] of bad) {
      const problem = await expectProblem(await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body }), 400, 'validation_failed')
      expect((problem.errors as { path: string }[]).map((error) => error.path)).toContain(path)
    }
    await expectProblem(await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: 'not json' }), 400, 'validation_failed')
    expect(await count(t, 'workspace_limits')).toBe(0)
  })
})

describe('budgets', () => {
  it('refuses with 429 quota_exceeded (Retry-After, resetAt) once spent, stores nothing, and refills exactly at the period end (UTC)', async () => {
    clock = new Date('2026-03-31T23:58:30.000Z')
    const t = await app()
    const owner = await t.register()
    const ws = owner.workspace.id
    expect((await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: { workspace: { period: 'month', maxTokens: 20 } } })).status).toBe(200)
    const conv = await conversation(owner)
    expect((await send(owner, conv, 'Spend it [[emulator tokens=30]]')).status).toBe(201)
    const before = { messages: await count(t, 'messages'), generations: await count(t, 'generations'), usage: await count(t, 'usage_records') }

    const refused = await send(owner, conv)
    const retryAfter = refused.headers.get('retry-after')
    const problem = await expectProblem(refused, 429, 'quota_exceeded')
    expect(problem.resetAt).toBe('2026-04-01T00:00:00.000Z')
    expect(retryAfter).toBe('90')
    expect({ messages: await count(t, 'messages'), generations: await count(t, 'generations'), usage: await count(t, 'usage_records') }).toEqual(before)
    // The OpenAI-compatible route: the same refusal in OpenAI's shape, with x-ratelimit-*-tokens.
    const compat = await owner.call('POST', '/v1/chat/completions', { body: { model: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: 'hi' }] } })
    expect(compat.status).toBe(429)
    expect((await compat.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'quota_exceeded' })
    expect(compat.headers.get('x-ratelimit-limit-tokens')).toBe('20')
    expect(compat.headers.get('x-ratelimit-remaining-tokens')).toBe('0')
    expect(compat.headers.get('x-ratelimit-reset-tokens')).toBe('1m30s')

    clock = new Date('2026-03-31T23:59:59.999Z')
    await expectProblem(await send(owner, conv), 429, 'quota_exceeded')
    clock = new Date('2026-04-01T00:00:00.000Z')
    expect((await send(owner, conv)).status).toBe(201)
  })

  it('counts cost per member: one member spending theirs leaves the others theirs', async () => {
    clock = new Date('2026-05-10T12:00:00.000Z')
    const t = await app()
    const owner = await t.register()
    const ws = owner.workspace.id
    // 2 µ$: a few hundred tokens of nova-lite (0.06 $/MTok in, 0.24 $/MTok out).
    expect((await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: { perMember: { period: 'day', maxCostUsd: 0.000002 } } })).status).toBe(200)
    const spender = await member(t, owner)
    const saver = await member(t, owner)
    const spenderConv = await conversation(spender, { workspaceId: ws })
    expect((await send(spender, spenderConv, 'Long [[emulator tokens=20]]')).status).toBe(201)
    const problem = await expectProblem(await send(spender, spenderConv), 429, 'quota_exceeded')
    expect(problem.resetAt).toBe('2026-05-11T00:00:00.000Z')
    expect((await send(saver, await conversation(saver, { workspaceId: ws }))).status).toBe(201)
    // The spender's own personal workspace has no limits.
    expect((await send(spender, await conversation(spender))).status).toBe(201)
  })
})

describe('rates and concurrency', () => {
  it('counts requests per minute per API key, with RateLimit-Policy and RateLimit headers, and 429 rate_limited past it', async () => {
    clock = new Date('2026-06-01T10:00:15.000Z')
    const t = await app()
    const owner = await t.register()
    const ws = owner.workspace.id
    expect((await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: { perApiKey: { period: 'day', maxRequestsPerMinute: 2 } } })).status).toBe(200)
    const key = await (await owner.call('POST', '/v1/api-keys', { body: { name: 'bot', workspaceId: ws } })).json()
    const bot = { call: (method: string, path: string, options: { body?: unknown } = {}) => t.request(method, path, { ...options, token: key.key }) }
    const conv = await conversation(bot)

    const first = await send(bot, conv)
    expect(first.status).toBe(201)
    expect(first.headers.get('ratelimit-policy')).toBe('"apiKey";q=2;w=60')
    expect(first.headers.get('ratelimit')).toBe('"apiKey";r=1;t=45')
    const compat = await bot.call('POST', '/v1/chat/completions', { body: { model: 'amazon.nova-lite-v1:0', messages: [{ role: 'user', content: 'hi' }] } })
    expect(compat.status).toBe(200)
    expect(compat.headers.get('ratelimit')).toBe('"apiKey";r=0;t=45')
    expect(compat.headers.get('x-ratelimit-limit-requests')).toBe('2')
    expect(compat.headers.get('x-ratelimit-remaining-requests')).toBe('0')
    expect(compat.headers.get('x-ratelimit-reset-requests')).toBe('45s')

    const refused = await send(bot, conv)
    expect(refused.headers.get('retry-after')).toBe('45')
    expect(refused.headers.get('ratelimit')).toBe('"apiKey";r=0;t=45')
    await expectProblem(refused, 429, 'rate_limited')
    // The owner's own token is no API key: not limited.
    expect((await send(owner, conv)).status).toBe(201)
    clock = new Date('2026-06-01T10:01:00.000Z')
    expect((await send(bot, conv)).status).toBe(201)
  })

  it('limits concurrent generations, and gives the slot back when a turn ends or does not start', async () => {
    clock = new Date('2026-06-02T10:00:00.000Z')
    const t = await app({ MAX_CONVERSATION_BYTES: '4096' })
    const owner = await t.register()
    const ws = owner.workspace.id
    expect((await owner.call('PUT', `/v1/workspaces/${ws}/limits`, { body: { perMember: { period: 'day', maxConcurrentGenerations: 1 } } })).status).toBe(200)
    const slow = await owner.call('POST', `/v1/conversations/${await conversation(owner)}/messages`, { body: { content: 'Slow [[emulator tokens=100 delay=30]]' } })
    expect(slow.status).toBe(200)
    const other = await conversation(owner)
    const busy = await send(owner, other)
    expect(busy.headers.get('retry-after')).toBe('1')
    await expectProblem(busy, 429, 'rate_limited')
    expect(parseSse(await slow.text()).events.at(-1)?.event).toBe('generation.completed')
    expect((await send(owner, other)).status).toBe(201)
    // A turn refused after the check (413: the conversation is full) gives its slot back.
    await expectProblem(await send(owner, other, `${'x'.repeat(5000)}`), 413, 'payload_too_large')
    expect((await send(owner, await conversation(owner))).status).toBe(201)
  })
})
