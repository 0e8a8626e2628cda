import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'
import { NOT_AN_OBJECT, jsonBodyOperations } from '../text-samples'
import { directoryAssets, PUBLIC_DIRECTORY } from '../../src/entries/assets-directory'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ MAX_BODY_BYTES: '4096', CORS_ORIGINS: 'https://app.example.com' })
})
afterAll(() => t.close())

describe('HTTP conventions', () => {
  it('answers /health without touching dependencies and /ready with the database state', async () => {
    expect(await (await t.request('GET', '/health')).json()).toEqual({ status: 'ok' })
    const ready = await t.request('GET', '/ready')
    expect(ready.status).toBe(200)
    const { checks } = await ready.json()
    expect(checks.database.status).toBe('ok')
    expect(checks.streamState.status).toBe('ok')
    expect(checks.bedrock).toMatchObject({ status: 'ok', message: 'built-in emulator (synthetic answers)' })
  })

  it('puts X-Request-Id (and Vary: Origin, the origins being a list) on every kind of response', async () => {
    const pages = await createTestApp({ CORS_ORIGINS: 'https://app.example.com' }, { assets: directoryAssets(PUBLIC_DIRECTORY) })
    try {
      const user = await pages.register()
      const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
      const responses = {
        json: await user.call('GET', '/v1/conversations'),
        stream: await user.call('POST', `/v1/conversations/${conversation.id}/messages`, { body: { content: 'hi', stream: true } }),
        empty: await user.call('DELETE', `/v1/conversations/${conversation.id}`),
        page: await pages.request('GET', '/'),
        missing: await pages.request('GET', '/nothing-here'),
      }
      for (const [kind, res] of Object.entries(responses)) {
        expect({ kind, id: res.headers.get('x-request-id'), vary: res.headers.get('vary') }).toEqual({ kind, id: expect.stringMatching(/^req_/), vary: 'Origin' })
        await res.body?.cancel()
      }
      expect(responses.stream.headers.get('content-type')).toMatch(/^text\/event-stream/)
      expect(responses.page.headers.get('content-security-policy')).toMatch(/trusted-types/)
    } finally {
      pages.close()
    }
  })

  it('reports 503 not_ready when the database is gone, without leaking details', async () => {
    const broken = await createTestApp()
    broken.close()
    const problem = await expectProblem(await broken.request('GET', '/ready'), 503, 'not_ready')
    expect(problem.checks).toMatchObject({ database: { status: 'error', message: 'database is unavailable' }, streamState: { status: 'ok' } })
    expect((await broken.request('GET', '/health')).status).toBe(200)
  })

  it('names the Bedrock it would call in /ready', async () => {
    const real = await createTestApp({ AWS_ACCESS_KEY_ID: 'AKIA0000', AWS_SECRET_ACCESS_KEY: 'secret', AWS_REGION: 'eu-west-3' })
    const { checks } = await (await real.request('GET', '/ready')).json()
    expect(checks.bedrock).toMatchObject({ status: 'ok', message: 'Amazon Bedrock in eu-west-3' })
    real.close()
  })

  it('echoes a valid X-Request-Id and replaces an invalid one', async () => {
    const echoed = await t.request('GET', '/health', { headers: { 'x-request-id': 'abc-123_DEF' } })
    expect(echoed.headers.get('x-request-id')).toBe('abc-123_DEF')
    const replaced = await t.request('GET', '/health', { headers: { 'x-request-id': 'bad id<script>' } })
    expect(replaced.headers.get('x-request-id')).toMatch(/^req_/)
    const problem = await expectProblem(await t.request('GET', '/v1/me', { headers: { 'x-request-id': 'trace-1' } }), 401, 'unauthorized')
    expect(problem.requestId).toBe('trace-1')
  })

  it('answers unknown routes with a 404 problem', async () => {
    await expectProblem(await t.request('GET', '/nope'), 404, 'not_found')
    await expectProblem(await t.request('DELETE', '/v1/auth/login'), 404, 'not_found')
  })

  it('rejects bodies over MAX_BODY_BYTES with 413, declared or streamed', async () => {
    const big = JSON.stringify({ email: 'a@b.co', password: 'x'.repeat(5000) })
    await expectProblem(await t.request('POST', '/v1/auth/login', { body: big }), 413, 'payload_too_large')
    const chunked = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const res = await t.app.request('/v1/auth/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      body: chunked,
      duplex: 'half',
    } as RequestInit)
    await expectProblem(res, 413, 'payload_too_large')
  })

  it('rejects malformed JSON and non-JSON bodies', async () => {
    for (const body of ['{', '{"email": }', 'null', '[]', '"string"', '']) {
      const problem = await expectProblem(await t.request('POST', '/v1/auth/login', { body }), 400, 'validation_failed')
      expect(problem.errors, body).toEqual([{ path: '', message: expect.any(String) }])
    }
    const missing = await expectProblem(await t.app.request('/v1/auth/login', { method: 'POST' }), 400, 'validation_failed')
    expect(missing.errors).toEqual(expect.arrayContaining([{ path: 'email', message: expect.any(String) }]))
    // A POST without Content-Length or Transfer-Encoding has no body, whatever the runtime's Request says.
    const empty = new ReadableStream({ start: (controller) => controller.close() })
    const bodiless = await t.app.request('/v1/auth/login', { method: 'POST', body: empty, duplex: 'half' } as RequestInit)
    expect((await expectProblem(bodiless, 400, 'validation_failed')).errors).toEqual(expect.any(Array))
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonp']) {
      await expectProblem(await t.request('POST', '/v1/auth/login', { body: '{}', headers: { 'content-type': type } }), 415, 'unsupported_media_type')
    }
    const charset = await t.request('POST', '/v1/auth/login', {
      body: { email: 'nobody@example.com', password: 'whatever' },
      headers: { 'content-type': 'application/json; charset=utf-8' },
    })
    await expectProblem(charset, 401, 'unauthorized')
  })

  it('answers every JSON route with `errors` when the body is not a JSON object', async () => {
    const operations = jsonBodyOperations(await (await t.request('GET', '/openapi.json')).json())
    expect(operations.length).toBeGreaterThanOrEqual(14)
    expect(operations).toContainEqual({ method: 'POST', path: '/v1/conversations/x_0123/messages' })
    const user = await t.register()
    for (const { method, path } of operations) {
      for (const body of NOT_AN_OBJECT) {
        const res = await t.request(method, path, { token: user.accessToken, body, headers: { 'content-type': 'application/json' } })
        const problem = await expectProblem(res, 400, 'validation_failed').catch((error: Error) => {
          throw new Error(`${method} ${path} with ${JSON.stringify(body)}: ${error.message}`)
        })
        expect(problem.errors, `${method} ${path} with ${JSON.stringify(body)}`).toEqual([{ path: '', message: expect.any(String) }])
      }
    }
  })

  it('survives hostile JSON: deep nesting, prototype keys, control characters', async () => {
    const deep = '['.repeat(2000) + ']'.repeat(2000)
    await expectProblem(await t.request('POST', '/v1/auth/login', { body: deep }), 400, 'validation_failed')
    await expectProblem(
      await t.request('POST', '/v1/auth/login', { body: '{"__proto__": {"admin": true}, "email": "a@b.co", "password": "\\u0000\\u0001"}' }),
      401,
      'unauthorized',
    )
    const res = await t.request('POST', '/v1/auth/register', { body: { email: 'ctrl@example.com', password: 'pass\u0000word\u202e', name: '\u0007bell' } })
    expect(res.status).toBe(201)
  })

  it('applies CORS from CORS_ORIGINS and exposes the request id', async () => {
    const preflight = await t.request('OPTIONS', '/v1/me', {
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example.com')
    const other = await t.request('GET', '/health', { headers: { origin: 'https://evil.example.com' } })
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const allowed = await t.request('GET', '/health', { headers: { origin: 'https://app.example.com' } })
    expect(allowed.headers.get('access-control-expose-headers')).toContain('X-Request-Id')
  })
})
