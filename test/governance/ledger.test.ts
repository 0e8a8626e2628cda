/**
 * The usage ledger over the real app (libsql, Bedrock over HTTP to the emulator): one row per model call, equal to
 * the streamed `usage` events exactly, costs equal to tokens × the catalog's prices (integers: no float drift), written
 * in the batch that stores the generation's outcome; and GET /v1/usage over it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient, ConverseStreamEvent } from '../../src/bedrock/types'
import { writeLedger, type UsageEntry } from '../../src/governance/ledger'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'
import { parseSse } from '../sse'

const MODEL = 'amazon.nova-lite-v1:0'
/** Prices with up to six decimals, as strings: the expected costs are computed from their digits, not from floats. */
const PRICES = { inputPerMTok: '0.123457', outputPerMTok: '1.000001', cacheReadPerMTok: '0.00875', cacheWritePerMTok: '3.75' }
const catalog = { [MODEL]: { pricing: Object.fromEntries(Object.entries(PRICES).map(([name, price]) => [name, Number(price)])) } }

/** USD per million tokens as a decimal string → pico-dollars per token, exactly. */
const picoPerToken = (price: string) => {
  const [whole, fraction = ''] = price.split('.')
  return BigInt(`${whole}${fraction.padEnd(6, '0')}`)
}
const prices = { input: picoPerToken(PRICES.inputPerMTok), output: picoPerToken(PRICES.outputPerMTok), cacheRead: picoPerToken(PRICES.cacheReadPerMTok), cacheWrite: picoPerToken(PRICES.cacheWritePerMTok) }

let t: TestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>

beforeAll(async () => {
  emulator = await startHttpEmulator()
  t = await createTestApp({ MODEL_CATALOG: JSON.stringify(catalog) }, { models: emulator.client({ baseDelayMs: 2 }) })
})
afterAll(async () => {
  t.close()
  await emulator.close()
})

type User = Awaited<ReturnType<TestApp['register']>>

const rows = async (where: string, args: (string | number)[] = []) => (await t.client.execute({ sql: `select * from usage_records where ${where} order by created_at, id`, args })).rows

async function streamedTurn(user: User, conversationId: string, content: string) {
  const res = await user.call('POST', `/v1/conversations/${conversationId}/messages`, { body: { content } })
  expect(res.status).toBe(200)
  return parseSse(await res.text()).events
}

describe('the usage ledger', () => {
  it('equals the streamed usage events exactly, one row per model call, costs = tokens × catalog price', async () => {
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const streamed = { input: 0, output: 0, calls: 0 }
    for (const tokens of [3, 17, 40]) {
      const events = await streamedTurn(user, conversation.id, `Count to ${tokens} [[emulator tokens=${tokens}]]`)
      for (const event of events.filter((each) => each.event === 'usage')) {
        streamed.input += Number(event.data.inputTokens)
        streamed.output += Number(event.data.outputTokens)
        streamed.calls += 1
      }
      expect(events.at(-1)?.event).toBe('generation.completed')
    }
    // The OpenAI-compatible route (stateless: nothing stored but its usage).
    const completion = await user.call('POST', '/v1/chat/completions', { body: { model: MODEL, messages: [{ role: 'user', content: 'Hi [[emulator tokens=9]]' }] } })
    expect(completion.status).toBe(200)
    const { usage } = await completion.json()
    streamed.input += usage.prompt_tokens
    streamed.output += usage.completion_tokens
    streamed.calls += 1

    const ledger = await rows('user_id = ?', [user.user.id])
    expect(ledger).toHaveLength(streamed.calls)
    expect(ledger.reduce((sum, row) => sum + Number(row.input_tokens), 0)).toBe(streamed.input)
    expect(ledger.reduce((sum, row) => sum + Number(row.output_tokens), 0)).toBe(streamed.output)
    let totalPico = 0n
    for (const row of ledger) {
      expect(row.workspace_id).toBe(user.workspace.id)
      expect(row.model_id).toBe(MODEL)
      const expected = BigInt(row.input_tokens as number) * prices.input + BigInt(row.output_tokens as number) * prices.output
      expect(BigInt(row.cost_pico_usd as number)).toBe(expected)
      totalPico += expected
    }
    expect(ledger.filter((row) => row.conversation_id === conversation.id)).toHaveLength(3)

    const report = await (await user.call('GET', `/v1/usage?workspaceId=${user.workspace.id}&groupBy=model`)).json()
    expect(report.totals).toEqual({
      requests: streamed.calls,
      inputTokens: streamed.input,
      outputTokens: streamed.output,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costUsd: Number(totalPico) / 1e12,
    })
    expect(report.data).toEqual([{ key: MODEL, ...report.totals }])

    const metrics = await (await t.request('GET', '/metrics')).text()
    expect(metrics).toMatch(/^edgechat_cost_usd_total\{model="amazon\.nova-lite-v1:0"\} [0-9.e-]+$/m)
  })

  it('writes one row per model call of a tool loop, steps numbered, summing to the turn usage', async () => {
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const res = await user.call('POST', `/v1/conversations/${conversation.id}/messages`, {
      body: { content: 'What is 6 times 7? [[emulator tool=calculator input={"expression":"6*7"}]]', tools: ['calculator'] },
    })
    expect(res.status).toBe(200)
    const events = parseSse(await res.text()).events
    const completed = events.at(-1)!
    expect(completed.event).toBe('generation.completed')
    expect(events.filter((event) => event.event === 'tool.result')).toHaveLength(1)
    const ledger = await rows('generation_id = ?', [String(completed.data.generationId)])
    expect(ledger.map((row) => Number(row.step))).toEqual([0, 1])
    const usage = completed.data.usage as { inputTokens: number; outputTokens: number }
    expect(ledger.reduce((sum, row) => sum + Number(row.input_tokens), 0)).toBe(usage.inputTokens)
    expect(ledger.reduce((sum, row) => sum + Number(row.output_tokens), 0)).toBe(usage.outputTokens)
    for (const row of ledger) expect(Number(row.input_tokens)).toBeGreaterThan(0)
  })

  it('prices prompt-cache tokens at their own prices', async () => {
    const cached: BedrockClient = {
      converse: () => Promise.reject(new Error('not used')),
      converseStream: async () => {
        const events: ConverseStreamEvent[] = [
          { type: 'messageStart', role: 'assistant' },
          { type: 'textDelta', index: 0, text: 'cached answer' },
          { type: 'contentBlockStop', index: 0 },
          { type: 'messageStop', stopReason: 'end_turn' },
          { type: 'metadata', usage: { inputTokens: 11, outputTokens: 7, cacheReadInputTokens: 1_234_567, cacheWriteInputTokens: 89 }, metrics: { latencyMs: 1 } },
        ]
        return Object.assign(
          (async function* () {
            yield* events
          })(),
          { batches: async function* () { yield events } },
        )
      },
    }
    const app = await createTestApp({ MODEL_CATALOG: JSON.stringify(catalog) }, { models: cached })
    try {
      const user = await app.register()
      const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
      expect((await user.call('POST', `/v1/conversations/${conversation.id}/messages`, { body: { content: 'hi', stream: false } })).status).toBe(201)
      const [row] = (await app.client.execute('select * from usage_records')).rows
      expect(row).toMatchObject({ input_tokens: 11, output_tokens: 7, cache_read_tokens: 1_234_567, cache_write_tokens: 89 })
      expect(BigInt(row!.cost_pico_usd as number)).toBe(11n * prices.input + 7n * prices.output + 1_234_567n * prices.cacheRead + 89n * prices.cacheWrite)
      const metrics = await (await app.request('GET', '/metrics')).text()
      expect(metrics).toMatch(/^edgechat_tokens_total\{model="amazon\.nova-lite-v1:0",direction="cache_read"\} 1234567$/m)
    } finally {
      app.close()
    }
  })

  it('is written in the batch that stores the outcome: a failed store writes no row, its retry writes one', async () => {
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    // The first final write (completed) fails as a full disk would; the turn then stores itself as failed.
    await t.client.execute(`create trigger refuse_completion before update of status on generations
      when new.status = 'completed' and new.conversation_id = '${conversation.id}' begin select raise(abort, 'disk full'); end`)
    try {
      const events = await streamedTurn(user, conversation.id, 'Fail to store [[emulator tokens=6]]')
      expect(events.at(-1)?.event).toBe('generation.failed')
      const generationId = events[0]!.data.generationId as string
      const ledger = await rows('generation_id = ?', [generationId])
      expect(ledger).toHaveLength(1)
      const usage = events.find((event) => event.event === 'usage')!
      expect(ledger[0]).toMatchObject({ step: 0, input_tokens: usage.data.inputTokens, output_tokens: usage.data.outputTokens })
      const [generation] = (await t.client.execute({ sql: 'select status from generations where id = ?', args: [generationId] })).rows
      expect(generation!.status).toBe('failed')
    } finally {
      await t.client.execute('drop trigger refuse_completion')
    }
  })

  it('ignores a model call written twice (same generation and step)', async () => {
    const user = await t.register()
    const entry: UsageEntry = {
      id: 'use_twice_1',
      workspaceId: user.workspace.id,
      userId: user.user.id,
      apiKeyId: null,
      conversationId: null,
      generationId: 'gen_twice',
      step: 0,
      modelId: MODEL,
      inputTokens: 1,
      outputTokens: 1,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      costPicoUsd: 5,
      createdAt: new Date(),
    }
    await writeLedger(t.db, [entry])
    await writeLedger(t.db, [{ ...entry, id: 'use_twice_2' }])
    await writeLedger(t.db, [{ ...entry, id: 'use_twice_3', step: 1 }])
    expect(await rows(`generation_id = 'gen_twice'`)).toHaveLength(2)
    // The daily sums budgets read (kept by a trigger) count the rows really written, once.
    const daily = (await t.client.execute({ sql: 'select subject, cost_pico_usd, tokens from usage_daily where subject like ? order by subject', args: [`%${user.user.id}`] })).rows
    expect(daily).toEqual([expect.objectContaining({ subject: `member:${user.workspace.id}:${user.user.id}`, cost_pico_usd: 10, tokens: 4 })])
  })

  it('keeps daily sums per workspace, member and API key equal to the ledger', async () => {
    const sums = (await t.client.execute(`select subject, sum(cost_pico_usd) as cost, sum(tokens) as tokens from usage_daily group by subject`)).rows
    const expected = new Map<string, { cost: number; tokens: number }>()
    for (const row of await rows('1 = 1')) {
      const day = Math.floor(Number(row.created_at) / 86_400_000)
      const tokens = Number(row.input_tokens) + Number(row.output_tokens) + Number(row.cache_read_tokens) + Number(row.cache_write_tokens)
      const subjects = [`ws:${row.workspace_id}`, `member:${row.workspace_id}:${row.user_id}`, ...(row.api_key_id ? [`key:${row.api_key_id}`] : [])]
      for (const subject of subjects) {
        const sum = expected.get(subject) ?? { cost: 0, tokens: 0 }
        expected.set(subject, { cost: sum.cost + Number(row.cost_pico_usd), tokens: sum.tokens + tokens })
      }
      expect(day).toBeGreaterThan(0)
    }
    expect(Object.fromEntries(sums.map((row) => [row.subject, { cost: Number(row.cost), tokens: Number(row.tokens) }]))).toEqual(Object.fromEntries(expected))
    expect(expected.size).toBeGreaterThan(3)
  })
})

describe('GET /v1/usage', () => {
  it('shows admins the workspace and members their own, grouped by day, model, user or API key', async () => {
    const owner = await t.register('owner')
    const member = await t.register('member')
    const ws = owner.workspace.id
    const invite = await (await owner.call('POST', `/v1/workspaces/${ws}/members`, { body: { email: member.email, role: 'member' } })).json()
    expect((await member.call('POST', `/v1/me/invitations/${invite.id}/accept`)).status).toBeLessThan(300)
    const key = await (await member.call('POST', '/v1/api-keys', { body: { name: 'ci', workspaceId: ws } })).json()
    for (const [who, token] of [[owner, owner.accessToken], [member, key.key]] as const) {
      const conversation = await (await t.request('POST', '/v1/conversations', { token, body: { workspaceId: ws } })).json()
      const res = await t.request('POST', `/v1/conversations/${conversation.id}/messages`, { token, body: { content: `from ${who.user.id} [[emulator tokens=4]]`, stream: false } })
      expect(res.status).toBe(201)
    }
    const byUser = await (await owner.call('GET', `/v1/usage?workspaceId=${ws}&groupBy=user`)).json()
    expect(byUser.data.map((row: { key: string }) => row.key).sort()).toEqual([owner.user.id, member.user.id].sort())
    expect(byUser.totals.requests).toBe(2)
    const byKey = await (await owner.call('GET', `/v1/usage?workspaceId=${ws}&groupBy=apiKey`)).json()
    expect(byKey.data.map((row: { key: string | null }) => row.key)).toEqual([null, key.id])
    const today = new Date().toISOString().slice(0, 10)
    const byDay = await (await owner.call('GET', `/v1/usage?workspaceId=${ws}`)).json()
    expect(byDay.data).toEqual([expect.objectContaining({ key: today, requests: 2 })])

    const mine = await (await member.call('GET', `/v1/usage?workspaceId=${ws}&groupBy=user`)).json()
    expect(mine.data.map((row: { key: string }) => row.key)).toEqual([member.user.id])
    expect(mine.totals.requests).toBe(1)
    // The API key scoped to the workspace defaults to it.
    const viaKey = await (await t.request('GET', '/v1/usage?groupBy=user', { token: key.key })).json()
    expect(viaKey.totals.requests).toBe(1)
    // A range that ends before the calls: nothing.
    const before = await (await owner.call('GET', `/v1/usage?workspaceId=${ws}&to=2020-01-02&from=2020-01-01`)).json()
    expect(before).toEqual({ data: [], totals: { requests: 0, inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: 0 } })
  })

  it('refuses bad queries with 400 and other workspaces with 404', async () => {
    const user = await t.register()
    const other = await t.register()
    const ws = user.workspace.id
    for (const query of ['groupBy=week', 'from=yesterday', 'from=2026-02-01&to=2026-01-01', 'from=2020-01-01&to=2026-01-01']) {
      const problem = await expectProblem(await user.call('GET', `/v1/usage?workspaceId=${ws}&${query}`), 400, 'validation_failed')
      expect(problem.errors).toEqual([expect.objectContaining({ path: expect.any(String), message: expect.any(String) })])
    }
    await expectProblem(await other.call('GET', `/v1/usage?workspaceId=${ws}`), 404, 'not_found')
    await expectProblem(await t.request('GET', `/v1/usage?workspaceId=${ws}`), 401, 'unauthorized')
  })
})
