// The Worker entry's own behaviour: configuration parsed from env per isolate, failing closed with a clear 500.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { PASSWORD, ORIGIN, expectProblem, readReply, uniqueEmail } from './helpers'

/** Calls the entry's fetch directly with an env of our choosing (each env object gets its own app). */
async function fetchWith(testEnv: WorkerEnv, path: string, init?: RequestInit) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(`${ORIGIN}${path}`, init), testEnv, ctx)
  await waitOnExecutionContext(ctx)
  return readReply(response)
}

/** The test bindings as a plain object, minus `omit`, plus `set`. */
function envWith(set: Record<string, unknown>, omit: string[] = []): WorkerEnv {
  const copy: WorkerEnv = { ...env, LOG_LEVEL: 'silent', ...set }
  for (const name of omit) delete copy[name]
  return copy
}

afterEach(() => vi.restoreAllMocks())

describe('workers: entry configuration', () => {
  it('production without JWT_SECRET fails closed: 500 problem naming the variable, logged', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const badEnv = envWith({ NODE_ENV: 'production' }, ['JWT_SECRET'])
    const reply = await fetchWith(badEnv, '/health')
    const problem = expectProblem(reply, 500, 'internal')
    expect(problem.detail).toContain('JWT_SECRET')
    expect(errors).toHaveBeenCalledWith(expect.stringContaining('JWT_SECRET'))

    // The failure is remembered for the isolate, and every request still gets the explanation.
    const again = await fetchWith(badEnv, '/v1/me')
    expect(expectProblem(again, 500, 'internal').detail).toContain('JWT_SECRET')
    expect(again.headers.get('x-request-id')).not.toBe(reply.headers.get('x-request-id'))
  })

  it('production without AWS secrets fails closed unless BEDROCK_EMULATOR=on asks for synthetic answers', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const reply = await fetchWith(envWith({ BEDROCK_EMULATOR: 'auto' }), '/health')
    expect(expectProblem(reply, 500, 'internal').detail).toContain('BEDROCK_EMULATOR')
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    expect((await fetchWith(envWith({ BEDROCK_EMULATOR: 'on' }), '/health')).status).toBe(200)
  })

  it('an invalid variable is named too', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const reply = await fetchWith(envWith({ ACCESS_TOKEN_TTL: 'soon' }), '/health')
    expect(expectProblem(reply, 500, 'internal').detail).toContain('ACCESS_TOKEN_TTL')
  })

  it('no D1 binding and no remote DATABASE_URL: 500 naming DB', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const reply = await fetchWith(envWith({}, ['DB']), '/health')
    const problem = expectProblem(reply, 500, 'internal')
    expect(problem.detail).toContain('DB')
    expect(problem.detail).toContain('DATABASE_URL')
  })

  it('without a DB binding, a libsql:// DATABASE_URL selects the libsql web client (Hrana over HTTP)', async () => {
    // A minimal Hrana v2 server standing in for Turso: answers every `execute` with one row and acknowledges `close`.
    const seen: { url: string; authorization: string | null; sql: string[] }[] = []
    vi.spyOn(globalThis, 'fetch').mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = new Request(input, init)
      const body = (await request.json()) as { requests: { type: string; stmt?: { sql: string } }[] }
      seen.push({ url: request.url, authorization: request.headers.get('authorization'), sql: body.requests.flatMap((r) => (r.stmt ? [r.stmt.sql] : [])) })
      const results = body.requests.map((r) =>
        r.type === 'execute'
          ? {
              type: 'ok',
              response: {
                type: 'execute',
                result: { cols: [{ name: '1', decltype: null }], rows: [[{ type: 'integer', value: '1' }]], affected_row_count: 0, last_insert_rowid: null },
              },
            }
          : { type: 'ok', response: { type: r.type } },
      )
      return Response.json({ baton: null, base_url: null, results })
    })
    const remoteEnv = envWith({ DATABASE_URL: 'libsql://edgechat-test.turso.example', DATABASE_AUTH_TOKEN: 'turso-token' }, ['DB'])
    const ready = await fetchWith(remoteEnv, '/ready', { headers: { authorization: `Bearer ${env.METRICS_TOKEN}` } })
    expect(ready.status, ready.text).toBe(200)
    expect(ready.body.checks.database.status).toBe('ok')
    expect(seen).toEqual([{ url: 'https://edgechat-test.turso.example/v2/pipeline', authorization: 'Bearer turso-token', sql: ['select 1'] }])
  })

  it('outside production a missing JWT_SECRET is generated once per isolate, with a warning', async () => {
    const lines: string[] = []
    vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)))
    const devEnv = envWith({ NODE_ENV: 'development', LOG_LEVEL: 'warn' }, ['JWT_SECRET'])
    const email = uniqueEmail('devsecret')
    const registered = await fetchWith(devEnv, '/v1/auth/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password: PASSWORD }),
    })
    expect(registered.status, registered.text).toBe(201)
    // Tokens from the generated secret verify on later requests of the same isolate …
    const me = await fetchWith(devEnv, '/v1/me', { headers: { authorization: `Bearer ${registered.body.accessToken}` } })
    expect(me.status, me.text).toBe(200)
    // … but not where the real secret is configured.
    const elsewhere = await fetchWith(envWith({}), '/v1/me', { headers: { authorization: `Bearer ${registered.body.accessToken}` } })
    expectProblem(elsewhere, 401, 'unauthorized')
    expect(lines.filter((line) => line.includes('JWT_SECRET is not set'))).toHaveLength(1)
  })
})
