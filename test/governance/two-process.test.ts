/**
 * Limits across processes: two REAL Node server processes (src/entries/node.ts under tsx) sharing one SQLite file and
 * one Redis (the redis-server on 127.0.0.1:6379 through the Upstash REST bridge, STREAM_STATE=redis, so the limits'
 * counters are Redis's too). A per-key rate limit counts the requests sent to both; a budget spent through one is
 * refused by the other; a running generation on one takes the concurrency slot on the other; login failures seen
 * by one (by the socket's address) throttle the other. Fails (not skips) without Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisBridge, type RedisBridge } from '../redis-bridge/bridge'
import { STEP_TIMEOUT_MS, SseReader, startServer, type Server } from '../stream/server-processes'

const JWT_SECRET = 'governance-two-process-secret-'.padEnd(48, 'x')
const MODEL = 'amazon.nova-lite-v1:0'

const servers: Server[] = []
const readers: SseReader[] = []
let bridge: RedisBridge | undefined
let dir = ''

afterAll(async () => {
  if (process.env.TWO_PROCESS_OUTPUT) for (const server of servers) console.log(server.output())
  for (const reader of readers) await reader.cancel()
  await Promise.all(servers.map((server) => server.stop()))
  await bridge?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

/** Rate windows are calendar minutes: start a rate test early in one, so all its requests fall in the same. */
async function earlyInAMinute() {
  const second = new Date().getUTCSeconds()
  if (second > 40) await new Promise((resolve) => setTimeout(resolve, (61 - second) * 1000))
}

describe('limits shared by two Node processes through Redis', () => {
  let a: Server
  let b: Server
  let token = ''

  const call = (server: Server, method: string, path: string, body?: unknown, bearer = token) =>
    fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${bearer}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(STEP_TIMEOUT_MS),
    })
  const json = async (res: Response) => (await res.json()) as Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any
  const workspace = async (name: string) => (await json(await call(a, 'POST', '/v1/workspaces', { name }))).id as string
  const conversation = async (server: Server, workspaceId: string) => (await json(await call(server, 'POST', '/v1/conversations', { workspaceId }))).id as string
  const turn = (server: Server, conversationId: string, content = 'Hello [[emulator tokens=5]]') =>
    call(server, 'POST', `/v1/conversations/${conversationId}/messages`, { content, stream: false })
  const limits = async (workspaceId: string, body: unknown) => expect((await call(b, 'PUT', `/v1/workspaces/${workspaceId}/limits`, body)).status).toBe(200)

  beforeAll(async () => {
    bridge = await startRedisBridge()
    dir = mkdtempSync(join(tmpdir(), 'edgechat-governance-'))
    const env = {
      NODE_ENV: 'production',
      BEDROCK_EMULATOR: 'on',
      DATABASE_URL: `file:${join(dir, 'edgechat.db')}`,
      JWT_SECRET,
      LOG_LEVEL: 'warn',
      STREAM_STATE: 'redis',
      UPSTASH_REDIS_REST_URL: bridge.url,
      UPSTASH_REDIS_REST_TOKEN: bridge.token,
      LOGIN_FAILURES_PER_ADDRESS: '3',
    }
    a = await startServer('A', env, servers)
    b = await startServer('B', env, servers)
    const registered = await fetch(`${a.baseUrl}/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'governance@example.com', password: 'correct horse battery staple' }),
    })
    if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`)
    token = (await json(registered)).accessToken
  })

  it('counts a per-key rate limit over the requests sent to both', async () => {
    const ws = await workspace('rate')
    await limits(ws, { perApiKey: { period: 'day', maxRequestsPerMinute: 4 } })
    const key = (await json(await call(a, 'POST', '/v1/api-keys', { name: 'shared', workspaceId: ws }))).key as string
    await earlyInAMinute()
    const remaining: string[] = []
    for (const server of [a, b, a, b]) {
      const res = await call(server, 'POST', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi [[emulator tokens=2]]' }] }, key)
      expect(res.status, `${server.name}: ${await res.clone().text()}`).toBe(200)
      remaining.push(res.headers.get('x-ratelimit-remaining-requests') ?? '')
    }
    expect(remaining).toEqual(['3', '2', '1', '0'])
    for (const server of [a, b]) {
      const refused = await call(server, 'POST', '/v1/chat/completions', { model: MODEL, messages: [{ role: 'user', content: 'hi' }] }, key)
      expect(refused.status).toBe(429)
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
      expect((await json(refused)).error).toMatchObject({ code: 'rate_limited', type: 'rate_limit_error' })
    }
  })

  it('refuses on B a budget spent through A', async () => {
    const ws = await workspace('budget')
    await limits(ws, { workspace: { period: 'month', maxTokens: 10 } })
    expect((await turn(a, await conversation(a, ws), 'Spend [[emulator tokens=12]]')).status).toBe(201)
    const refused = await turn(b, await conversation(b, ws))
    expect(refused.status).toBe(429)
    const problem = await json(refused)
    expect(problem.code).toBe('quota_exceeded')
    const now = new Date()
    expect(problem.resetAt).toBe(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)).toISOString())
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    // GET /v1/usage on B reads the ledger A wrote.
    const usage = await json(await call(b, 'GET', `/v1/usage?workspaceId=${ws}`))
    expect(usage.totals.requests).toBe(1)
    expect(usage.totals.outputTokens).toBe(12)
  })

  it('takes the concurrency slot on B while A runs a generation, and frees it when it ends', async () => {
    const ws = await workspace('concurrency')
    await limits(ws, { perMember: { period: 'day', maxConcurrentGenerations: 1 } })
    const res = await fetch(`${a.baseUrl}/v1/conversations/${await conversation(a, ws)}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ content: 'Slow [[emulator tokens=100 delay=30]]' }),
    })
    expect(res.status).toBe(200)
    const slow = new SseReader(res)
    readers.push(slow)
    await slow.waitFor((events) => events.length >= 1, 'generation.started on A')
    const other = await conversation(b, ws)
    const busy = await turn(b, other)
    expect(busy.status).toBe(429)
    expect((await json(busy)).code).toBe('rate_limited')
    await slow.waitFor((events) => events.some((event) => event.event === 'generation.completed'), 'the slow turn to end', 30_000)
    expect((await turn(b, other)).status).toBe(201)
  })

  it('throttles logins on B by the failures A saw from the same socket address (X-Forwarded-For ignored)', async () => {
    const fail = (server: Server, email: string, forwarded: string) =>
      fetch(`${server.baseUrl}/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': forwarded },
        body: JSON.stringify({ email, password: 'not the password' }),
      })
    // Earlier runs' failures from 127.0.0.1 may still be counted in this window: start from none.
    await bridge!.raw([['EVAL', `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, '0', 'edgechat:limits:{login-*']])
    for (let i = 0; i < 3; i++) expect((await fail(a, `guess${i}@example.com`, `198.51.100.${i}`)).status).toBe(401)
    const refused = await fail(b, 'governance@example.com', '198.51.100.77')
    expect(refused.status).toBe(429)
    expect(((await json(refused)) as { code: string }).code).toBe('rate_limited')
    // Leave no failures of 127.0.0.1 behind for other servers sharing this Redis.
    await bridge!.raw([['EVAL', `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, '0', 'edgechat:limits:{login-*']])
  })
})
