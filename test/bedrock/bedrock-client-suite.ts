/**
 * The Bedrock client's suite, run over each transport a runtime entry gives it: the runtime's `fetch`
 * (bedrock-client.test.ts) and the Node entry's node:http fetch (bedrock-client-node-fetch.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BedrockError } from '../../src/bedrock/bedrock-error'
import { createBedrockClient, type BedrockClientOptions } from '../../src/bedrock/bedrock-client'
import { createBedrockEmulator, DEFAULT_EMULATOR_CREDENTIALS } from '../../src/bedrock/emulator'
import type { ConverseRequest, ConverseStreamEvent } from '../../src/bedrock/types'
import { collect, eventFrame, textTurn } from './frames'
import { listen, type RunningServer } from './http-server'

const MODEL = 'us.anthropic.claude-3-7-sonnet-20250219-v1:0'
const API_KEY = 'bedrock-api-key-123'

export function bedrockClientSuite(transport: { name: string; fetch: typeof fetch }) {
  describe(transport.name, () => {
    const streamEnds: { modelId: string; outcome: string; framesSent: number }[] = []

    let server: RunningServer

    beforeAll(async () => {
      const emulator = createBedrockEmulator({
        credentials: [DEFAULT_EMULATOR_CREDENTIALS, { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'temp-token' }],
        apiKey: API_KEY,
        onStreamEnd: (info) => streamEnds.push(info),
      })
      server = await listen(emulator.fetch)
    })
    afterAll(() => server.close())

    /** A client against the emulator over HTTP, counting attempts and recording backoff pauses. */
    function client(options: Partial<BedrockClientOptions> = {}) {
      const stats = { attempts: 0, sleeps: [] as number[] }
      const baseFetch = options.fetch ?? transport.fetch
      const model = createBedrockClient({
        region: 'us-east-1',
        endpoint: server.url,
        credentials: DEFAULT_EMULATOR_CREDENTIALS,
        sleep: async (ms) => void stats.sleeps.push(ms),
        ...options,
        fetch: (input, init) => {
          stats.attempts++
          return baseFetch(input, init)
        },
      })
      return { model, stats }
    }

    const ask = (text: string, extra: Partial<ConverseRequest> = {}): ConverseRequest => ({
      modelId: MODEL,
      messages: [{ role: 'user', content: [{ text }] }],
      ...extra,
    })

    const textOf = (events: ConverseStreamEvent[]) =>
      events.flatMap((event) => (event.type === 'textDelta' ? [event.text] : [])).join('')

    /** Re-sends a signed request with one thing changed after signing. */
    function tamper(change: (headers: Headers, body: string) => { headers?: Headers; body?: string }): typeof fetch {
      return async (input, init) => {
        const headers = new Headers(init?.headers)
        const changed = change(headers, String(init?.body))
        return transport.fetch(input, { ...init, headers: changed.headers ?? headers, body: changed.body ?? init?.body })
      }
    }

    describe('Bedrock client against the emulator over HTTP', () => {
      it('signs with SigV4 (URL-encoded model id) and streams typed events', async () => {
        const { model, stats } = client()
        const events = await model.converseStream(ask('Hello there, emulator'))
        const { items, error } = await collect(events)
        expect(error).toBeUndefined()
        expect(stats.attempts).toBe(1)
        expect(items[0]).toEqual({ type: 'messageStart', role: 'assistant' })
        expect(textOf(items)).toBe('You said: "Hello there, emulator". This is the Bedrock emulator.')
        expect(items.at(-2)).toEqual({ type: 'messageStop', stopReason: 'end_turn' })
        expect(items.at(-1)).toMatchObject({ type: 'metadata', usage: { outputTokens: 10 }, metrics: { latencyMs: expect.any(Number) } })
        const converse = await model.converse(ask('Hello there, emulator'))
        expect(converse.output.message.content).toEqual([{ text: textOf(items) }])
      })

      it('accepts inference-profile ARNs as model ids', async () => {
        const { model } = client()
        const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0'
        await expect(model.converse(ask('hi', { modelId: arn }))).resolves.toMatchObject({ stopReason: 'end_turn' })
      })

      it('signs session tokens, and sends API keys as Bearer without SigV4', async () => {
        const temporary = client({ credentials: { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'temp-token' } })
        await expect(temporary.model.converse(ask('hi'))).resolves.toBeTruthy()
        const wrongToken = client({ credentials: { accessKeyId: 'ASIATEMP', secretAccessKey: 'temp-secret', sessionToken: 'other' } })
        await expect(wrongToken.model.converse(ask('hi'))).rejects.toMatchObject({ type: 'UnrecognizedClientException', status: 403 })

        let authorization = ''
        const bearer = client({
          credentials: undefined,
          apiKey: API_KEY,
          fetch: (input, init) => {
            authorization = new Headers(init?.headers).get('authorization') ?? ''
            return transport.fetch(input, init)
          },
        })
        expect((await collect(await bearer.model.converseStream(ask('hi')))).error).toBeUndefined()
        expect(authorization).toBe(`Bearer ${API_KEY}`)
        const badKey = client({ credentials: undefined, apiKey: 'nope' })
        await expect(badKey.model.converse(ask('hi'))).rejects.toMatchObject({ status: 403 })
      })

      it('gets a typed 403 for a tampered signature, a body changed after signing, a wrong secret, an unknown key, no auth', async () => {
        const expectRejected = async (options: Partial<BedrockClientOptions>, type: string) => {
          const { model, stats } = client(options)
          const error = await model.converse(ask('hi')).catch((e: unknown) => e)
          expect(error).toBeInstanceOf(BedrockError)
          expect(error).toMatchObject({ type, status: 403, retryable: false, attempts: 1 })
          expect(stats.attempts).toBe(1)
          return error as BedrockError
        }
        const tampered = await expectRejected(
          {
            fetch: tamper((headers) => {
              headers.set('authorization', headers.get('authorization')!.replace(/Signature=(.)/, (_, c: string) => `Signature=${c === 'a' ? 'b' : 'a'}`))
              return { headers }
            }),
          },
          'InvalidSignatureException',
        )
        expect(tampered.message).toMatch(/signature we calculated does not match/)
        await expectRejected({ fetch: tamper((_, body) => ({ body: body.replace('hi', 'ho') })) }, 'InvalidSignatureException')
        await expectRejected({ credentials: { accessKeyId: DEFAULT_EMULATOR_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' } }, 'InvalidSignatureException')
        await expectRejected({ credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: 'x' } }, 'UnrecognizedClientException')
        await expectRejected(
          {
            fetch: tamper((headers) => {
              headers.delete('authorization')
              return { headers }
            }),
          },
          'MissingAuthenticationTokenException',
        )
      })

      it('retries throttling with backoff and succeeds (ConverseStream and Converse)', async () => {
        const { model, stats } = client({ baseDelayMs: 100, random: () => 0.5 })
        const { items, error } = await collect(await model.converseStream(ask('[[emulator error=ThrottlingException times=2]] stream')))
        expect(error).toBeUndefined()
        expect(items.at(-1)?.type).toBe('metadata')
        expect(stats.attempts).toBe(3)
        expect(stats.sleeps).toEqual([50, 100])

        const converse = client()
        await expect(converse.model.converse(ask('[[emulator error=InternalServerException times=1]] json'))).resolves.toMatchObject({ stopReason: 'end_turn' })
        expect(converse.stats.attempts).toBe(2)
      })

      it('gives up after maxAttempts with a retryable typed error', async () => {
        const { model, stats } = client()
        const error = await model.converseStream(ask('[[emulator error=ThrottlingException]]')).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(BedrockError)
        expect(error).toMatchObject({ type: 'ThrottlingException', status: 429, retryable: true, attempts: 3 })
        expect(stats.attempts).toBe(3)
        expect(stats.sleeps).toHaveLength(2)
        const unavailable = client({ maxAttempts: 2 })
        await expect(unavailable.model.converse(ask('[[emulator error=ServiceUnavailableException]]'))).rejects.toMatchObject({ status: 503, attempts: 2 })
        expect(unavailable.stats.attempts).toBe(2)
      })

      it('does not retry non-retryable errors', async () => {
        for (const text of ['[[emulator error=ValidationException]]', '[[emulator error=AccessDeniedException]]', '[[emulator error=ModelErrorException]]']) {
          const { model, stats } = client()
          await expect(model.converseStream(ask(text))).rejects.toMatchObject({ retryable: false, attempts: 1 })
          expect(stats.attempts).toBe(1)
        }
        const { model, stats } = client()
        const invalid = { modelId: MODEL, messages: [{ role: 'assistant' as const, content: [{ text: 'first' }] }] }
        await expect(model.converse(invalid)).rejects.toMatchObject({ type: 'ValidationException', status: 400 })
        expect(stats.attempts).toBe(1)
      })

      it('never retries once the stream has started: a mid-stream exception surfaces after the deltas', async () => {
        const { model, stats } = client()
        const { items, error } = await collect(await model.converseStream(ask('[[emulator tokens=6 fail-after=4 fail-with=throttlingException]]')))
        expect(items.filter((event) => event.type === 'textDelta')).toHaveLength(4)
        expect(error).toMatchObject({ type: 'ThrottlingException', retryable: true })
        expect(stats.attempts).toBe(1)
      })

      it('retries a refused connection, then reports a NetworkError', async () => {
        const closed = await listen(() => new Response('unused'))
        await closed.close()
        const { model, stats } = client({ endpoint: closed.url })
        await expect(model.converse(ask('hi'))).rejects.toMatchObject({ name: 'BedrockError', type: 'NetworkError', retryable: true, attempts: 3 })
        expect(stats.attempts).toBe(3)
      })

      it('aborts mid-stream: the iterator ends with an AbortError promptly and the server sees the disconnect', async () => {
        const { model } = client()
        const controller = new AbortController()
        const events = await model.converseStream(ask('[[emulator tokens=200 delay=20]] abort me'), { signal: controller.signal })
        const seen: ConverseStreamEvent[] = []
        let error: unknown
        let abortedAt = 0
        try {
          for await (const event of events) {
            seen.push(event)
            if (seen.filter((e) => e.type === 'textDelta').length === 3) {
              abortedAt = performance.now()
              controller.abort()
            }
          }
        } catch (caught) {
          error = caught
        }
        expect(performance.now() - abortedAt).toBeLessThan(2_000) // the rest of the answer would take about 4 s
        expect(error).toBeInstanceOf(DOMException)
        expect((error as DOMException).name).toBe('AbortError')
        await expect.poll(() => streamEnds.find((end) => end.outcome === 'cancelled'), { timeout: 2_000 }).toMatchObject({ modelId: MODEL })
        expect(streamEnds.find((end) => end.outcome === 'cancelled')!.framesSent).toBeLessThan(100) // of 200
      })

      it('aborts a pending Converse call and a retry pause with an AbortError, not a BedrockError', async () => {
        const { model } = client()
        const slow = model.converse(ask('[[emulator tokens=3 ttft=5000]]'), { signal: AbortSignal.timeout(50) })
        await expect(slow).rejects.toMatchObject({ name: 'AbortError' })

        const backoff = createBedrockClient({
          region: 'us-east-1',
          endpoint: server.url,
          credentials: DEFAULT_EMULATOR_CREDENTIALS,
          baseDelayMs: 10_000,
          random: () => 1,
        })
        const controller = new AbortController()
        const started = performance.now()
        const pending = backoff.converseStream(ask('[[emulator error=ThrottlingException]] backoff'), { signal: controller.signal })
        setTimeout(() => controller.abort(), 100)
        await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
        expect(performance.now() - started).toBeLessThan(2_000)

        const already = new AbortController()
        already.abort()
        await expect(model.converseStream(ask('hi'), { signal: already.signal })).rejects.toMatchObject({ name: 'AbortError' })
      })

      it('decodes reasoning and tool-use events from the wire', async () => {
        const { model } = client()
        const events = await model.converseStream(
          ask('[[emulator reasoning tool=lookup input={"q":"edge chat","limit":5}]] find it', {
            toolConfig: { tools: [{ toolSpec: { name: 'lookup', inputSchema: { json: { type: 'object' } } } }] },
          }),
        )
        const { items, error } = await collect(events)
        expect(error).toBeUndefined()
        const kinds = items.map((event) => event.type)
        expect(kinds.indexOf('reasoningDelta')).toBe(1)
        expect(items.find((event) => event.type === 'reasoningDelta' && event.signature)).toBeTruthy()
        expect(items.find((event) => event.type === 'contentBlockStart')).toMatchObject({ toolUse: { name: 'lookup' } })
        const input = items.flatMap((event) => (event.type === 'toolUseDelta' ? [event.input] : []))
        expect(input.length).toBeGreaterThanOrEqual(2)
        expect(JSON.parse(input.join(''))).toEqual({ q: 'edge chat', limit: 5 })
        expect(items).toContainEqual({ type: 'messageStop', stopReason: 'tool_use' })
      })
    })

    describe('Bedrock client against a misbehaving server', () => {
      const frames = textTurn(['one', 'two', 'three'])
      let fake: RunningServer

      beforeAll(async () => {
        fake = await listen((request, bindings) => {
          const path = new URL(request.url).pathname
          let chunks: Uint8Array[]
          let fail = false
          if (path.includes('cut-mid-frame')) chunks = [frames[0]!, frames[1]!, frames[2]!.subarray(0, 17)]
          else if (path.includes('no-message-stop')) chunks = frames.slice(0, 3)
          else if (path.includes('reset')) {
            chunks = [frames[0]!, frames[1]!]
            fail = true
          } else if (path.includes('garbage')) chunks = [frames[0]!, new TextEncoder().encode('<html>proxy error</html>'.repeat(2))]
          else chunks = [eventFrame('messageStart', { role: 'assistant' })]
          const body = new ReadableStream<Uint8Array>({
            async start(controller) {
              for (const chunk of chunks) controller.enqueue(chunk)
              await new Promise((resolve) => setTimeout(resolve, 20))
              if (fail) bindings?.outgoing.destroy()
              else controller.close()
            },
          })
          return new Response(body, { headers: { 'content-type': 'application/vnd.amazon.eventstream' } })
        })
      })
      afterAll(() => fake.close())

      const streamFrom = async (modelId: string) => {
        const model = createBedrockClient({ region: 'us-east-1', endpoint: fake.url, credentials: DEFAULT_EMULATOR_CREDENTIALS, fetch: transport.fetch })
        return collect(await model.converseStream(ask('hi', { modelId })))
      }

      it('reports a body cut inside a frame as a non-retryable TruncatedStream', async () => {
        const { items, error } = await streamFrom('cut-mid-frame')
        expect(items.map((event) => event.type)).toEqual(['messageStart', 'textDelta'])
        expect(error).toBeInstanceOf(BedrockError)
        expect(error).toMatchObject({ type: 'TruncatedStream', retryable: false })
      })

      it('reports a body that ends before messageStop as truncated', async () => {
        expect((await streamFrom('no-message-stop')).error).toMatchObject({ type: 'TruncatedStream' })
      })

      it('reports a connection reset mid-body as a BedrockError', async () => {
        const { items, error } = await streamFrom('reset')
        expect(items).toHaveLength(2)
        expect(error).toBeInstanceOf(BedrockError)
        expect(error).toMatchObject({ type: 'NetworkError', retryable: false })
      })

      it('reports bytes that are not event-stream frames as InvalidEventStream', async () => {
        expect((await streamFrom('garbage')).error).toMatchObject({ type: 'InvalidEventStream' })
      })
    })
  })
}
