import { AwsClient } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { createBedrockClient } from '../../src/bedrock/bedrock-client'
import { createBedrockEmulator, DEFAULT_EMULATOR_CREDENTIALS, parseDirectives } from '../../src/bedrock/emulator'
import type { ConverseRequest, ConverseStreamEvent } from '../../src/bedrock/types'
import { collect } from './frames'

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0'

function inProcess(options: Partial<Parameters<typeof createBedrockEmulator>[0]> = {}) {
  const emulator = createBedrockEmulator({ credentials: DEFAULT_EMULATOR_CREDENTIALS, sleep: async () => {}, ...options })
  const client = createBedrockClient({
    region: 'us-east-1',
    endpoint: 'http://emulator.test',
    credentials: DEFAULT_EMULATOR_CREDENTIALS,
    fetch: async (input, init) => emulator.fetch(new Request(input, init)),
    maxAttempts: 1,
  })
  return { emulator, client }
}

const ask = (text: string, extra: Partial<ConverseRequest> = {}): ConverseRequest => ({
  modelId: MODEL,
  messages: [{ role: 'user', content: [{ text }] }],
  ...extra,
})

async function streamed(client: ReturnType<typeof inProcess>['client'], request: ConverseRequest) {
  return collect(await client.converseStream(request))
}

const textOf = (events: ConverseStreamEvent[]) =>
  events
    .filter((event) => event.type === 'textDelta')
    .map((event) => (event as { text: string }).text)
    .join('')

describe('emulator directives', () => {
  it('parses combined settings, JSON values and several blocks, and strips them from the prompt', () => {
    const { directives, prompt } = parseDirectives(
      'Hello [[emulator tokens=5 delay=10 ttft=20 reasoning]] there [[emulator tool=get_weather input={"city": "Paris ]]", "n": [1, 2]} fail-after=2 fail-with=throttlingException]]',
    )
    expect(directives).toEqual({
      tokens: 5,
      delayMs: 10,
      ttftMs: 20,
      reasoning: true,
      tools: [{ name: 'get_weather', input: { city: 'Paris ]]', n: [1, 2] } }],
      failAfter: 2,
      failWith: 'throttlingException',
    })
    expect(prompt).toBe('Hello there')
  })

  it('rejects unknown settings and bad values', () => {
    for (const text of ['[[emulator tokenz=3]]', '[[emulator tokens=-1]]', '[[emulator tokens=3', '[[emulator input={"a":1}]]', '[[emulator tool=x input={oops}]]']) {
      expect(() => parseDirectives(text), text).toThrow()
    }
  })
})

describe('emulator answers', () => {
  it('are deterministic, echo the prompt in 8–12 deltas by default, and match between Converse and ConverseStream', async () => {
    const { client } = inProcess()
    const first = await streamed(client, ask('What is the capital of France?'))
    const second = await streamed(client, ask('What is the capital of France?'))
    expect(first.error).toBeUndefined()
    expect(textOf(first.items)).toBe('You said: "What is the capital". This is the Bedrock emulator.')
    expect(second.items.filter((e) => e.type !== 'metadata')).toEqual(first.items.filter((e) => e.type !== 'metadata'))
    const deltas = first.items.filter((event) => event.type === 'textDelta').length
    expect(deltas).toBeGreaterThanOrEqual(8)
    expect(deltas).toBeLessThanOrEqual(12)
    const converse = await client.converse(ask('What is the capital of France?'))
    expect(converse.output.message.content).toEqual([{ text: textOf(first.items) }])
    expect(converse.stopReason).toBe('end_turn')
    expect(converse.usage).toMatchObject({ outputTokens: deltas, totalTokens: converse.usage.inputTokens + deltas })
    const metadata = first.items.at(-1)
    expect(metadata).toMatchObject({ type: 'metadata', usage: { inputTokens: converse.usage.inputTokens, outputTokens: deltas } })
  })

  it('depend only on the last user message', async () => {
    const { client } = inProcess()
    const alone = await client.converse(ask('same question'))
    const withHistory = await client.converse({
      modelId: 'other-model',
      system: [{ text: 'be brief' }],
      messages: [
        { role: 'user', content: [{ text: 'earlier' }] },
        { role: 'assistant', content: [{ text: 'reply' }] },
        { role: 'user', content: [{ text: 'same question' }] },
      ],
    })
    expect(withHistory.output).toEqual(alone.output)
  })

  it('emit exactly tokens=N text deltas and stop at maxTokens', async () => {
    const { client } = inProcess()
    const { items } = await streamed(client, ask('[[emulator tokens=37]] go'))
    expect(items.filter((event) => event.type === 'textDelta')).toHaveLength(37)
    const capped = await streamed(client, ask('[[emulator tokens=37]] go', { inferenceConfig: { maxTokens: 5 } }))
    expect(capped.items.filter((event) => event.type === 'textDelta')).toHaveLength(5)
    expect(capped.items).toContainEqual({ type: 'messageStop', stopReason: 'max_tokens' })
    const none = await streamed(client, ask('[[emulator tokens=0]]'))
    expect(none.items.map((event) => event.type)).toEqual(['messageStart', 'messageStop', 'metadata'])
  })

  it('pace deltas with ttft and delay', async () => {
    const sleeps: number[] = []
    const { client } = inProcess({ sleep: async (ms) => void sleeps.push(ms) })
    await streamed(client, ask('[[emulator tokens=4 delay=25 ttft=300]]'))
    expect(sleeps).toEqual([300, 25, 25, 25])
    sleeps.length = 0
    await client.converse(ask('[[emulator tokens=4 delay=25 ttft=300]]'))
    expect(sleeps).toEqual([375])
  })

  it('stream reasoning first (with a signature), then text, then a tool call split in several input deltas', async () => {
    const { client } = inProcess()
    const request = ask('[[emulator reasoning tool=get_weather input={"city":"Paris","days":3}]] weather please', {
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }] },
    })
    const { items, error } = await streamed(client, request)
    expect(error).toBeUndefined()
    const reasoning = items.filter((event) => event.type === 'reasoningDelta') as Extract<ConverseStreamEvent, { type: 'reasoningDelta' }>[]
    expect(reasoning.length).toBeGreaterThan(2)
    expect(reasoning.every((event) => event.index === 0)).toBe(true)
    expect(reasoning.at(-1)!.signature).toMatch(/^[A-Za-z0-9+/=]{20,}$/)
    expect(items.findIndex((event) => event.type === 'textDelta')).toBeGreaterThan(items.findIndex((event) => event.type === 'reasoningDelta'))
    const start = items.find((event) => event.type === 'contentBlockStart')
    expect(start).toMatchObject({ type: 'contentBlockStart', index: 2, toolUse: { name: 'get_weather' } })
    const inputs = items.filter((event) => event.type === 'toolUseDelta') as Extract<ConverseStreamEvent, { type: 'toolUseDelta' }>[]
    expect(inputs.length).toBeGreaterThanOrEqual(2)
    expect(JSON.parse(inputs.map((event) => event.input).join(''))).toEqual({ city: 'Paris', days: 3 })
    expect(items).toContainEqual({ type: 'messageStop', stopReason: 'tool_use' })

    const converse = await client.converse(request)
    const toolUseId = (start as { toolUse: { toolUseId: string } }).toolUse.toolUseId
    expect(converse.stopReason).toBe('tool_use')
    expect(converse.output.message.content).toEqual([
      { reasoningContent: { reasoningText: { text: reasoning.map((event) => event.text ?? '').join(''), signature: reasoning.at(-1)!.signature } } },
      { text: textOf(items) },
      { toolUse: { toolUseId, name: 'get_weather', input: { city: 'Paris', days: 3 } } },
    ])
  })

  it('fail mid-stream after N deltas, and fail Converse with a 424', async () => {
    const { client } = inProcess()
    const { items, error } = await streamed(client, ask('[[emulator tokens=10 fail-after=3]]'))
    expect(items.filter((event) => event.type === 'textDelta')).toHaveLength(3)
    expect(error).toMatchObject({ name: 'BedrockError', type: 'ModelStreamErrorException', retryable: false })
    const throttled = await streamed(client, ask('[[emulator fail-after=1 fail-with=throttlingException]]'))
    expect(throttled.error).toMatchObject({ type: 'ThrottlingException', status: 429, retryable: true })
    await expect(client.converse(ask('[[emulator fail-after=3]]'))).rejects.toMatchObject({ type: 'ModelErrorException', status: 424 })
  })

  it('answer scripted pre-stream errors with Bedrock status codes', async () => {
    const { client } = inProcess()
    const expected = {
      ThrottlingException: 429,
      ValidationException: 400,
      AccessDeniedException: 403,
      ResourceNotFoundException: 404,
      ModelTimeoutException: 408,
      ModelErrorException: 424,
      InternalServerException: 500,
      ServiceUnavailableException: 503,
    }
    for (const [type, status] of Object.entries(expected)) {
      await expect(client.converseStream(ask(`[[emulator error=${type}]]`))).rejects.toMatchObject({ name: 'BedrockError', type, status })
    }
  })

  it('carry the error-message text in scripted errors and mid-stream exceptions, with the request id', async () => {
    const { client } = inProcess()
    const message = 'User: arn:aws:sts::123456789012:assumed-role/R/x is not authorized'
    await expect(client.converseStream(ask(`[[emulator error=AccessDeniedException error-message=${JSON.stringify(message)}]]`))).rejects.toMatchObject({
      type: 'AccessDeniedException',
      message,
      requestId: expect.any(String),
    })
    const { error } = await streamed(client, ask(`[[emulator tokens=3 fail-after=1 error-message=${JSON.stringify(message)}]]`))
    expect(error).toMatchObject({ type: 'ModelStreamErrorException', message, requestId: expect.any(String) })
    expect(parseDirectives('[[emulator error-message=word]]').directives).toEqual({ errorMessage: 'word' })
    expect(() => parseDirectives('[[emulator error-message=]]')).toThrow()
  })

  it('fail only the first `times` requests with the same text', async () => {
    const { client } = inProcess()
    const request = ask('[[emulator error=ServiceUnavailableException times=2]] hi')
    await expect(client.converse(request)).rejects.toMatchObject({ type: 'ServiceUnavailableException' })
    await expect(client.converse(request)).rejects.toMatchObject({ type: 'ServiceUnavailableException' })
    await expect(client.converse(request)).resolves.toMatchObject({ stopReason: 'end_turn' })
    await expect(client.converse(ask('[[emulator error=ServiceUnavailableException times=2]] other'))).rejects.toMatchObject({ status: 503 })
  })
})

describe('emulator request validation', () => {
  const invalid = async (request: ConverseRequest, message: RegExp) => {
    const { client } = inProcess()
    await expect(client.converse(request)).rejects.toMatchObject({ type: 'ValidationException', status: 400, message: expect.stringMatching(message) })
  }

  it('rejects what Bedrock rejects', async () => {
    await invalid({ modelId: MODEL, messages: [] }, /length greater than or equal to 1/)
    await invalid({ modelId: MODEL, messages: [{ role: 'assistant', content: [{ text: 'hi' }] }] }, /must start with a user message/)
    await invalid(
      {
        modelId: MODEL,
        messages: [
          { role: 'user', content: [{ text: 'a' }] },
          { role: 'user', content: [{ text: 'b' }] },
        ],
      },
      /must alternate/,
    )
    await invalid({ modelId: MODEL, messages: [{ role: 'user', content: [] }] }, /content field .* is empty/)
    await invalid({ modelId: MODEL, messages: [{ role: 'user', content: [{ text: '  ' }] }] }, /is blank/)
    await invalid(ask('hi', { inferenceConfig: { maxTokens: 0 } }), /maxTokens/)
    await invalid(
      {
        modelId: MODEL,
        messages: [
          { role: 'user', content: [{ text: 'a' }] },
          { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'x', input: {} } }] },
          { role: 'user', content: [{ text: 'b' }] },
        ],
        toolConfig: { tools: [] },
      },
      /Expected toolResult blocks at messages.2.content for the following Ids: t1/,
    )
    await invalid(
      {
        modelId: MODEL,
        messages: [
          { role: 'user', content: [{ text: 'a' }] },
          { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'x', input: {} } }] },
          { role: 'user', content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'r' }] } }] },
        ],
      },
      /toolConfig field must be defined/,
    )
    await invalid(ask('[[emulator bogus]]'), /unknown emulator directive/)
  })

  it('rejects model ids outside its allow-list, like Bedrock', async () => {
    const { client } = inProcess({ models: [MODEL] })
    await expect(client.converse(ask('hi'))).resolves.toBeTruthy()
    await expect(client.converse({ ...ask('hi'), modelId: 'no-such-model' })).rejects.toMatchObject({
      type: 'ValidationException',
      message: 'The provided model identifier is invalid.',
    })
  })

  it('answers unknown routes with UnknownOperationException', async () => {
    const { emulator } = inProcess()
    const response = await emulator.request('/model/x/invoke-something', { method: 'POST', body: '{}' })
    expect(response.status).toBe(404)
    expect(response.headers.get('x-amzn-errortype')).toMatch(/^UnknownOperationException:/)
  })
})

describe('emulator SigV4 verification', () => {
  it('accepts aws4fetch with service bedrock and rejects a scope for another service', async () => {
    const { emulator } = inProcess()
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] })
    const sign = (service?: string) =>
      new AwsClient({ ...DEFAULT_EMULATOR_CREDENTIALS, region: 'us-east-1', service }).sign('http://emulator.test/model/m/converse', {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json' },
      })
    expect((await emulator.fetch(await sign('bedrock'))).status).toBe(200)
    const unscoped = await emulator.fetch(await sign())
    expect(unscoped.status).toBe(403)
    expect(unscoped.headers.get('x-amzn-errortype')).toMatch(/^InvalidSignatureException:/)
    expect(await unscoped.json()).toEqual({ message: "Credential should be scoped to correct service: 'bedrock'." })
  })

  it('rejects stale signatures and a scope for the wrong region when a region is configured', async () => {
    const { emulator } = inProcess({ region: 'eu-west-1', now: () => Date.UTC(2030, 0, 1) })
    const request = (region: string, datetime?: string) =>
      new AwsClient({ ...DEFAULT_EMULATOR_CREDENTIALS, region, service: 'bedrock' }).sign('http://emulator.test/model/m/converse', {
        method: 'POST',
        body: '{}',
        aws: datetime ? { datetime } : {},
      })
    const wrongRegion = await emulator.fetch(await request('us-east-1', '20300101T000000Z'))
    expect(await wrongRegion.json()).toMatchObject({ message: expect.stringMatching(/valid region/) })
    const stale = await emulator.fetch(await request('eu-west-1', '20291231T230000Z'))
    expect(stale.status).toBe(403)
    expect(await stale.json()).toMatchObject({ message: expect.stringMatching(/Signature expired/) })
  })
})
