import {
  BedrockRuntimeClient,
  ConverseCommand,
  ConverseStreamCommand,
  ModelStreamErrorException,
  ThrottlingException,
  ValidationException,
  type ConverseStreamOutput,
} from '@aws-sdk/client-bedrock-runtime'
import { NodeHttpHandler } from '@smithy/node-http-handler'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBedrockClient } from '../../src/bedrock/bedrock-client'
import { createBedrockEmulator, DEFAULT_EMULATOR_CREDENTIALS, DEFAULT_EMULATOR_REGION } from '../../src/bedrock/emulator'
import { collect } from './frames'
import { listen, type RunningServer } from './http-server'

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true'

const MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0'
let server: RunningServer

beforeAll(async () => {
  server = await listen(createBedrockEmulator({ credentials: DEFAULT_EMULATOR_CREDENTIALS, region: DEFAULT_EMULATOR_REGION }).fetch)
})
afterAll(() => server.close())

/** The official SDK (its own SigV4 signer and event-stream codec) pointed at the emulator over HTTP/1.1. */
function sdk(maxAttempts = 3) {
  return new BedrockRuntimeClient({
    region: DEFAULT_EMULATOR_REGION,
    endpoint: server.url,
    credentials: DEFAULT_EMULATOR_CREDENTIALS,
    requestHandler: new NodeHttpHandler(),
    maxAttempts,
  })
}

const messages = (text: string) => [{ role: 'user' as const, content: [{ text }] }]

async function sdkStream(text: string, extra: object = {}) {
  const response = await sdk().send(new ConverseStreamCommand({ modelId: MODEL, messages: messages(text), ...extra }))
  const events: ConverseStreamOutput[] = []
  try {
    for await (const event of response.stream!) events.push(event)
    return { events }
  } catch (error) {
    return { events, error }
  }
}

describe('the official AWS SDK against the emulator', () => {
  it('Converse: the SDK signature verifies and the response parses', async () => {
    const output = await sdk().send(new ConverseCommand({ modelId: MODEL, messages: messages('Hello from the SDK'), inferenceConfig: { maxTokens: 100 } }))
    expect(output.$metadata.httpStatusCode).toBe(200)
    expect(output.stopReason).toBe('end_turn')
    expect(output.output?.message?.content).toEqual([{ text: 'You said: "Hello from the SDK". This is the Bedrock emulator.' }])
    expect(output.usage).toMatchObject({ outputTokens: 11, totalTokens: (output.usage?.inputTokens ?? 0) + 11 })
    expect(output.metrics?.latencyMs).toEqual(expect.any(Number))
  })

  it('ConverseStream: the SDK decodes our event-stream frames into the same answer our client gets', async () => {
    const { events, error } = await sdkStream('[[emulator tokens=25]] stream it')
    expect(error).toBeUndefined()
    expect(Object.keys(events[0]!)).toEqual(['messageStart'])
    const sdkText = events.map((event) => event.contentBlockDelta?.delta?.text ?? '').join('')
    expect(events.filter((event) => event.contentBlockDelta)).toHaveLength(25)
    expect(events.at(-2)?.messageStop?.stopReason).toBe('end_turn')
    expect(events.at(-1)?.metadata?.usage?.outputTokens).toBe(25)

    const ours = createBedrockClient({ region: DEFAULT_EMULATOR_REGION, endpoint: server.url, credentials: DEFAULT_EMULATOR_CREDENTIALS })
    const { items } = await collect(await ours.converseStream({ modelId: MODEL, messages: messages('[[emulator tokens=25]] stream it') }))
    expect(items.flatMap((event) => (event.type === 'textDelta' ? [event.text] : [])).join('')).toBe(sdkText)
  })

  it('ConverseStream: reasoning and tool-use events', async () => {
    const { events, error } = await sdkStream('[[emulator reasoning tool=get_weather input={"city":"Oslo"}]] weather', {
      toolConfig: { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }] },
    })
    expect(error).toBeUndefined()
    expect(events.some((event) => event.contentBlockDelta?.delta?.reasoningContent?.signature)).toBe(true)
    expect(events.find((event) => event.contentBlockStart)?.contentBlockStart?.start?.toolUse?.name).toBe('get_weather')
    const input = events.map((event) => event.contentBlockDelta?.delta?.toolUse?.input ?? '').join('')
    expect(JSON.parse(input)).toEqual({ city: 'Oslo' })
    expect(events.at(-2)?.messageStop?.stopReason).toBe('tool_use')
  })

  it('pre-stream errors become the SDK exception classes with Bedrock status codes', async () => {
    const throttled = await sdk(1)
      .send(new ConverseCommand({ modelId: MODEL, messages: messages('[[emulator error=ThrottlingException]]') }))
      .catch((error: unknown) => error)
    expect(throttled).toBeInstanceOf(ThrottlingException)
    expect(throttled).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 429 }, message: 'Emulated ThrottlingException.' })

    const invalid = await sdk(1)
      .send(new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'assistant', content: [{ text: 'first' }] }] }))
      .catch((error: unknown) => error)
    expect(invalid).toBeInstanceOf(ValidationException)
    expect(invalid).toMatchObject({ $metadata: { httpStatusCode: 400 } })
  })

  it('a mid-stream exception frame becomes the SDK ModelStreamErrorException', async () => {
    const { events, error } = await sdkStream('[[emulator tokens=5 fail-after=2]]')
    expect(events.filter((event) => event.contentBlockDelta)).toHaveLength(2)
    expect(error).toBeInstanceOf(ModelStreamErrorException)
    expect(error).toMatchObject({ originalStatusCode: 500 })
  })

  it('the SDK retries throttling on its own and then succeeds', async () => {
    const output = await sdk(3).send(new ConverseCommand({ modelId: MODEL, messages: messages('[[emulator error=ThrottlingException times=2]] sdk retry') }))
    expect(output.$metadata.attempts).toBe(3)
    expect(output.stopReason).toBe('end_turn')
  })

  it('a wrong secret is rejected as the SDK sees it', async () => {
    const client = new BedrockRuntimeClient({
      region: DEFAULT_EMULATOR_REGION,
      endpoint: server.url,
      credentials: { accessKeyId: DEFAULT_EMULATOR_CREDENTIALS.accessKeyId, secretAccessKey: 'wrong' },
      requestHandler: new NodeHttpHandler(),
      maxAttempts: 1,
    })
    const error = await client.send(new ConverseCommand({ modelId: MODEL, messages: messages('hi') })).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'InvalidSignatureException', $metadata: { httpStatusCode: 403 } })
  })
})
