// Governance on Workers, inside workerd: the Worker entry with the Durable Object hub and the Durable Object counters
// (bindings GENERATIONS and COUNTERS, as a deploy picks them when STREAM_STATE is unset), real D1. The ledger row is
// written in D1 with the outcome; budgets refuse from it; the concurrency slot a turn takes in a CounterObject is
// given back by the GenerationObject that ran the turn; logins are throttled by CF-Connecting-IP.
import { createExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { expectProblem, ORIGIN, PASSWORD, readReply, uniqueEmail, type Reply } from './helpers'

const doEnv: WorkerEnv = { ...env, AUTH_ATTEMPTS_PER_EMAIL: '3', LOGIN_FAILURES_PER_ADDRESS: '4' }
delete doEnv.STREAM_STATE

async function call(method: string, path: string, options: { token?: string; json?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
  const headers = new Headers(options.headers)
  if (options.token) headers.set('authorization', `Bearer ${options.token}`)
  if (options.json !== undefined) headers.set('content-type', 'application/json')
  const init: RequestInit = { method, headers, ...(options.json !== undefined ? { body: JSON.stringify(options.json) } : {}) }
  return readReply(await worker.fetch(new Request(`${ORIGIN}${path}`, init), doEnv, createExecutionContext()))
}

async function registered() {
  const email = uniqueEmail('governed')
  const reply = await call('POST', '/v1/auth/register', { json: { email, password: PASSWORD }, headers: { 'cf-connecting-ip': `192.0.2.${Math.floor(Math.random() * 200)}` } })
  expect(reply.status, reply.text).toBe(201)
  return { email, token: reply.body.accessToken as string, userId: reply.body.user.id as string, workspaceId: reply.body.workspace.id as string }
}

describe('governance on Workers (Durable Object counters, D1 ledger)', () => {
  it('writes the ledger in D1, refuses a spent budget with quota_exceeded, and reports usage', async () => {
    const user = await registered()
    const put = await call('PUT', `/v1/workspaces/${user.workspaceId}/limits`, { token: user.token, json: { perMember: { period: 'day', maxTokens: 10 } } })
    expect(put.status, put.text).toBe(200)
    const conversation = (await call('POST', '/v1/conversations', { token: user.token, json: {} })).body.id as string
    const first = await call('POST', `/v1/conversations/${conversation}/messages`, { token: user.token, json: { content: 'Spend [[emulator tokens=12]]', stream: false } })
    expect(first.status, first.text).toBe(201)
    const rows = await env.DB.prepare('SELECT output_tokens, input_tokens, cost_pico_usd FROM usage_records WHERE user_id = ?').bind(user.userId).all<{ output_tokens: number; input_tokens: number; cost_pico_usd: number }>()
    expect(rows.results).toHaveLength(1)
    const [row] = rows.results
    // nova-lite: 0.06 $/MTok in, 0.24 $/MTok out.
    expect(row!.cost_pico_usd).toBe(row!.input_tokens * 60_000 + row!.output_tokens * 240_000)
    const refused = await call('POST', `/v1/conversations/${conversation}/messages`, { token: user.token, json: { content: 'More', stream: false } })
    const problem = expectProblem(refused, 429, 'quota_exceeded')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect(problem.resetAt).toMatch(/T00:00:00\.000Z$/)
    const usage = await call('GET', `/v1/usage?workspaceId=${user.workspaceId}&groupBy=user`, { token: user.token })
    expect(usage.body.data).toEqual([expect.objectContaining({ key: user.userId, requests: 1, outputTokens: 12 })])
  })

  it('frees the concurrency slot from the GenerationObject that ran the turn', async () => {
    const user = await registered()
    await call('PUT', `/v1/workspaces/${user.workspaceId}/limits`, { token: user.token, json: { workspace: { period: 'day', maxConcurrentGenerations: 1 } } })
    for (let i = 0; i < 3; i++) {
      const conversation = (await call('POST', '/v1/conversations', { token: user.token, json: {} })).body.id as string
      const reply = await call('POST', `/v1/conversations/${conversation}/messages`, { token: user.token, json: { content: `Turn ${i} [[emulator tokens=3]]`, stream: false } })
      expect(reply.status, reply.text).toBe(201)
    }
  })

  it('throttles failed logins by CF-Connecting-IP: per email from that address, then the address', async () => {
    const user = await registered()
    const login = (email: string, password: string, ip: string) => call('POST', '/v1/auth/login', { json: { email, password }, headers: { 'cf-connecting-ip': ip } })
    for (let i = 0; i < 3; i++) expect((await login(user.email, 'wrong password', '198.51.100.1')).status).toBe(401)
    const refused = await login(user.email, PASSWORD, '198.51.100.1')
    expectProblem(refused, 429, 'rate_limited')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await login(user.email, PASSWORD, '198.51.100.2')).status).toBe(200)
    expect((await login(uniqueEmail('nobody'), 'x', '198.51.100.1')).status).toBe(401)
    expectProblem(await login(user.email, PASSWORD, '198.51.100.1'), 429, 'rate_limited')
  })
})
