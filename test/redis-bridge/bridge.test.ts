/**
 * The Upstash REST bridge against the real redis-server on 127.0.0.1:6379 (these tests fail, not skip, when it is
 * unreachable): the protocol details @upstash/redis depends on, checked both on the wire and through the client.
 */
import { createServer } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startRedisBridge, type RedisBridge } from './bridge'

let bridge: RedisBridge
const prefix = `test:bridge:${process.pid}:${Date.now()}:`

beforeAll(async () => {
  bridge = await startRedisBridge()
})
afterAll(async () => {
  await bridge?.raw([['EVAL', `for _,k in ipairs(redis.call('KEYS', ARGV[1])) do redis.call('DEL', k) end`, '0', `${prefix}*`]])
  await bridge?.close()
})

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${bridge.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bridge.token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64')

describe('upstash REST bridge', () => {
  it('listens on 127.0.0.1 only, on a port of its own', () => {
    expect(bridge.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(Number(new URL(bridge.url).port)).toBeGreaterThan(0)
  })

  it('refuses requests without the bearer token with 401', async () => {
    for (const authorization of [undefined, 'Bearer wrong', `Basic ${bridge.token}`, `Bearer ${bridge.token}x`]) {
      const res = await fetch(bridge.url, {
        method: 'POST',
        headers: authorization ? { authorization } : {},
        body: JSON.stringify(['ping']),
      })
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ error: 'Unauthorized' })
    }
  })

  it('runs one command on POST /, numbers allowed; a Redis error is 400 {error}', async () => {
    expect(await post('/', ['set', `${prefix}a`, 'v', 'ex', 60])).toEqual({ status: 200, body: { result: 'OK' } })
    expect(await post('/', ['get', `${prefix}a`])).toEqual({ status: 200, body: { result: 'v' } })
    expect(await post('/', ['incrby', `${prefix}n`, 5])).toEqual({ status: 200, body: { result: 5 } })
    expect(await post('/', ['get', `${prefix}missing`])).toEqual({ status: 200, body: { result: null } })
    const error = await post('/', ['incr', `${prefix}a`])
    expect(error.status).toBe(400)
    expect(error.body.error).toMatch(/^ERR value is not an integer/)
    expect((await post('/', ['nosuchcommand'])).status).toBe(400)
  })

  it('answers /pipeline with one {result}|{error} per command, in order, not atomically', async () => {
    const res = await post('/pipeline', [
      ['set', `${prefix}p`, 'x'],
      ['incr', `${prefix}p`],
      ['append', `${prefix}p`, 'y'],
      ['get', `${prefix}p`],
    ])
    expect(res.status).toBe(200)
    expect(res.body).toEqual([{ result: 'OK' }, { error: expect.stringMatching(/^ERR value is not an integer/) }, { result: 2 }, { result: 'xy' }])
  })

  it('runs /multi-exec as one MULTI … EXEC transaction; a queueing error aborts it with 400', async () => {
    const ok = await post('/multi-exec', [
      ['set', `${prefix}m`, '1'],
      ['incr', `${prefix}m`],
      ['incr', `${prefix}notanumber-${Date.now()}`],
      ['get', `${prefix}m`],
    ])
    expect(ok).toEqual({ status: 200, body: [{ result: 'OK' }, { result: 2 }, { result: 1 }, { result: '2' }] })
    // A runtime error inside a transaction fails that command only (Redis semantics).
    await post('/', ['set', `${prefix}s`, 'text'])
    const partial = await post('/multi-exec', [['incr', `${prefix}s`], ['get', `${prefix}s`]])
    expect(partial.body).toEqual([{ error: expect.stringMatching(/^ERR value is not an integer/) }, { result: 'text' }])
    // A command Redis refuses to queue aborts the whole transaction.
    const aborted = await post('/multi-exec', [['set', `${prefix}never`, '1'], ['nosuchcommand']])
    expect(aborted.status).toBe(400)
    expect(aborted.body.error).toMatch(/EXECABORT/)
    expect((await post('/', ['exists', `${prefix}never`])).body).toEqual({ result: 0 })
  })

  it('base64-encodes every string at any depth with Upstash-Encoding: base64, except a top-level OK', async () => {
    const headers = { 'upstash-encoding': 'base64' }
    const text = 'héllo wörld 日本語 🎉'
    expect(await post('/', ['set', `${prefix}e`, text], headers)).toEqual({ status: 200, body: { result: 'OK' } })
    expect(await post('/', ['get', `${prefix}e`], headers)).toEqual({ status: 200, body: { result: b64(text) } })
    expect(await post('/', ['strlen', `${prefix}e`], headers)).toEqual({ status: 200, body: { result: Buffer.byteLength(text) } })
    expect(await post('/', ['get', `${prefix}none`], headers)).toEqual({ status: 200, body: { result: null } })
    expect((await post('/', ['ping'], headers)).body).toEqual({ result: b64('PONG') })
    // A stored value "OK" is a bulk string, not the OK status: encoded.
    await post('/', ['set', `${prefix}ok`, 'OK'])
    expect((await post('/', ['get', `${prefix}ok`], headers)).body).toEqual({ result: b64('OK') })

    await post('/', ['xadd', `${prefix}stream`, '7-0', 'field', text, 'n', '1'])
    const range = await post('/', ['xrange', `${prefix}stream`, '-', '+'], headers)
    expect(range.body).toEqual({ result: [[b64('7-0'), [b64('field'), b64(text), b64('n'), b64('1')]]] })

    const pipeline = await post('/pipeline', [['set', `${prefix}e2`, 'a'], ['get', `${prefix}e2`], ['mget', `${prefix}e2`, `${prefix}none`]], headers)
    expect(pipeline.body).toEqual([{ result: 'OK' }, { result: b64('a') }, { result: [b64('a'), null] }])
  })

  it('leaves strings as UTF-8 text without the header', async () => {
    await post('/', ['set', `${prefix}t`, 'ünïcode'])
    expect((await post('/', ['get', `${prefix}t`])).body).toEqual({ result: 'ünïcode' })
  })

  it('round-trips non-ASCII and binary-ish strings through @upstash/redis (base64 responses)', async () => {
    const redis = bridge.client()
    const values = [
      'héllo wörld 日本語 🎉',
      'control \u0000\u0001\u0002\u001f and \u007f\u0080\u00ff end',
      'T0s=', // valid base64 itself: a bridge that forgot to encode would be decoded to "OK"
      'OK',
      '1',
      '{"json":true,"n":1}',
      'line\nbreak\r\n\ttab "quotes" \\ backslash',
      '',
      'x'.repeat(100_000),
    ]
    for (const [i, value] of values.entries()) {
      const key = `${prefix}rt${i}`
      expect(await redis.set(key, value)).toBe('OK')
      expect(await redis.get(key)).toBe(value)
    }
    const p = redis.pipeline()
    values.forEach((value, i) => p.get(`${prefix}rt${i}`))
    expect(await p.exec()).toEqual(values)

    const streamKey = `${prefix}rtstream`
    const id = await redis.xadd(streamKey, '1-0', Object.fromEntries(values.map((value, i) => [`f${i}`, value])))
    expect(id).toBe('1-0')
    const entries = (await redis.xrange(streamKey, '-', '+')) as unknown as [string, string[]][]
    expect(entries).toEqual([['1-0', values.flatMap((value, i) => [`f${i}`, value])]])
  })

  it('keeps numbers numbers and "1" a string through the client with automaticDeserialization off', async () => {
    const redis = bridge.client()
    await redis.set(`${prefix}one`, '1')
    expect(await redis.get(`${prefix}one`)).toBe('1')
    expect(await redis.incr(`${prefix}counter`)).toBe(1)
    const auto = bridge.client({ automaticDeserialization: true })
    expect(await auto.get(`${prefix}one`)).toBe(1) // what the default client would do to a stream field
  })

  it('gives blocking commands a connection of their own', async () => {
    const started = Date.now()
    const blocked = post('/', ['blpop', `${prefix}empty-list`, '0.5'])
    const quick = await post('/', ['ping'])
    expect(quick.body).toEqual({ result: 'PONG' })
    expect(Date.now() - started).toBeLessThan(400)
    expect((await blocked).body).toEqual({ result: null })
  })

  it('refuses commands that would change a shared connection', async () => {
    for (const command of [['select', '1'], ['multi'], ['subscribe', 'x']]) {
      const res = await post('/', command)
      expect(res.status).toBe(400)
      expect(res.body.error).toMatch(/does not run/)
    }
  })

  it('counts commands as Upstash bills them', async () => {
    bridge.resetStats()
    await post('/', ['ping'])
    await post('/pipeline', [['ping'], ['ping'], ['echo', 'x']])
    await post('/multi-exec', [['ping'], ['ping']])
    expect(bridge.stats()).toMatchObject({ requests: 3, commands: 6, byCommand: { PING: 5, ECHO: 1 } })
  })

  it('fails with a clear message when Redis is unreachable', async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as { port: number }
        server.close(() => resolve(port))
      })
    })
    await expect(startRedisBridge({ redisPort: closedPort })).rejects.toThrow(/Redis is unreachable at 127\.0\.0\.1:\d+/)
  })
})
