import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { BedrockClient as ModelClient, ConverseRequest } from '../../src/bedrock/types'
import { ConfigError, parseConfig } from '../../src/config'
import { modelRegistry } from '../../src/models/registry'
import { createTestApp, expectProblem, startHttpEmulator, TEST_SECRET, type TestApp } from '../helpers'

let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
const requests: ConverseRequest[] = []
const apps: TestApp[] = []

beforeAll(async () => {
  emulator = await startHttpEmulator()
})
afterAll(async () => {
  for (const app of apps) app.close()
  await emulator.close()
})

/** An app over the HTTP emulator that records every request it sends to Bedrock. */
async function app(env: Record<string, string> = {}) {
  const models = emulator.client({ baseDelayMs: 5 })
  const recording: ModelClient = {
    converse: (request, options) => {
      requests.push(request)
      return models.converse(request, options)
    },
    converseStream: (request, options) => {
      requests.push(request)
      return models.converseStream(request, options)
    },
  }
  const created = await createTestApp(env, { models: recording })
  apps.push(created)
  return created
}

type User = Awaited<ReturnType<TestApp['register']>>
type Model = { id: string; default: boolean; [field: string]: unknown }

async function listModels(user: User): Promise<Model[]> {
  const res = await user.call('GET', '/v1/models')
  expect(res.status).toBe(200)
  const body = await res.json()
  expect(body.object).toBe('list')
  return body.data
}

async function turn(user: User, body: Record<string, unknown>) {
  const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
  return user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { stream: false, ...body } })
}

const HAIKU_3 = 'anthropic.claude-3-haiku-20240307-v1:0'
const SONNET_45 = 'anthropic.claude-sonnet-4-5-20250929-v1:0'

describe('GET /v1/models', () => {
  let t: TestApp
  let user: User
  beforeAll(async () => {
    t = await app()
    user = await t.register()
  })

  it('lists the built-in catalog in the OpenAI shape plus our fields, DEFAULT_MODEL_ID marked default', async () => {
    const data = await listModels(user)
    const sonnet = data.find((model) => model.id === SONNET_45)
    expect(sonnet).toEqual({
      id: SONNET_45,
      object: 'model',
      created: Date.UTC(2025, 8, 29) / 1000,
      owned_by: 'anthropic',
      name: 'Claude Sonnet 4.5',
      contextWindow: 200_000,
      maxOutputTokens: 64_000,
      capabilities: { tools: true, vision: true, documents: true, reasoning: true, structuredOutput: true },
      pricing: { inputPerMTok: 3, outputPerMTok: 15, cacheReadPerMTok: 0.3, cacheWritePerMTok: 3.75 },
      default: false,
    })
    expect(data.filter((model) => model.default).map((model) => model.id)).toEqual(['amazon.nova-lite-v1:0'])
    const ids = data.map((model) => model.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const id of [
      'amazon.nova-micro-v1:0',
      'amazon.nova-pro-v1:0',
      'amazon.nova-premier-v1:0',
      HAIKU_3,
      'anthropic.claude-3-5-sonnet-20241022-v2:0',
      'anthropic.claude-opus-4-1-20250805-v1:0',
      'meta.llama3-3-70b-instruct-v1:0',
      'meta.llama4-maverick-17b-instruct-v1:0',
      'mistral.mistral-large-2407-v1:0',
      'cohere.command-r-plus-v1:0',
      'deepseek.r1-v1:0',
      'openai.gpt-oss-120b-1:0',
      // Cross-region inference profiles are models of their own, with their base model's data.
      `us.${SONNET_45}`,
      `eu.${SONNET_45}`,
      `global.${SONNET_45}`,
      'us.amazon.nova-premier-v1:0',
    ]) {
      expect(ids).toContain(id)
    }
    expect(data.find((model) => model.id === `eu.${SONNET_45}`)).toEqual({ ...sonnet, id: `eu.${SONNET_45}` })
    for (const model of data) {
      expect(model).toMatchObject({ object: 'model', created: expect.any(Number), owned_by: expect.any(String), name: expect.any(String) })
    }
  })

  it('gets one model, and answers 404 in OpenAI’s error shape for an id it does not serve', async () => {
    const res = await user.call('GET', `/v1/models/us.${HAIKU_3}`)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ id: `us.${HAIKU_3}`, object: 'model', maxOutputTokens: 4_096, default: false })
    const missing = await user.call('GET', '/v1/models/no.such-model-v1:0')
    expect(missing.status).toBe(404)
    expect(missing.headers.get('content-type')).toMatch(/^application\/json/)
    expect(await missing.json()).toEqual({
      error: { message: expect.stringContaining('no.such-model-v1:0'), type: 'invalid_request_error', param: 'model', code: 'not_found' },
    })
  })

  it('answers 401 and 403 in OpenAI’s error shape, not problem+json', async () => {
    const res = await t.request('GET', '/v1/models')
    expect(res.status).toBe(401)
    expect(res.headers.get('content-type')).toMatch(/^application\/json/)
    expect(res.headers.get('www-authenticate')).toBe('Bearer')
    expect(res.headers.get('x-request-id')).toMatch(/^req_/)
    expect(await res.json()).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'unauthorized' } })

    const created = await user.call('POST', '/v1/api-keys', { body: { name: 'chat only', scopes: ['chat'] } })
    expect(created.status).toBe(201)
    const { key } = await created.json()
    const refused = await t.request('GET', '/v1/models', { token: key })
    expect(refused.status).toBe(403)
    expect(await refused.json()).toEqual({ error: { message: expect.stringContaining('read'), type: 'invalid_request_error', param: null, code: 'forbidden' } })
    const readKey = (await (await user.call('POST', '/v1/api-keys', { body: { name: 'reader', scopes: ['read'] } })).json()).key
    expect((await t.request('GET', '/v1/models', { token: readKey })).status).toBe(200)
  })

  it('leaves the other routes on problem+json', async () => {
    await expectProblem(await t.request('GET', '/v1/me'), 401, 'unauthorized')
    await expectProblem(await t.request('GET', '/v1/modelsx'), 401, 'unauthorized')
  })
})

describe('MODEL_IDS and MODEL_CATALOG', () => {
  it('MODEL_IDS is the whole list, in its order; ids the catalog does not know are listed with unknown data', async () => {
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123'
    const t = await app({ MODEL_IDS: `us.${SONNET_45},amazon.nova-lite-v1:0,${arn}` })
    const user = await t.register()
    const data = await listModels(user)
    expect(data.map((model) => model.id)).toEqual([`us.${SONNET_45}`, 'amazon.nova-lite-v1:0', arn])
    expect(data[0]).toMatchObject({ name: 'Claude Sonnet 4.5', contextWindow: 200_000, default: false })
    expect(data[1]).toMatchObject({ default: true })
    expect(data[2]).toMatchObject({
      name: arn,
      owned_by: 'bedrock',
      contextWindow: null,
      maxOutputTokens: null,
      pricing: { inputPerMTok: null, outputPerMTok: null, cacheReadPerMTok: null, cacheWritePerMTok: null },
    })
    const res = await user.call('GET', `/v1/models/${encodeURIComponent(arn)}`)
    expect(res.status).toBe(200)
    expect((await res.json()).id).toBe(arn)
    expect((await user.call('GET', `/v1/models/${SONNET_45}`)).status).toBe(404)
  })

  it('MODEL_CATALOG overrides fields of a built-in model (its profiles too) and adds models that turns may use', async () => {
    const catalog = {
      'amazon.nova-lite-v1:0': { name: 'Nova Lite (negotiated)', pricing: { inputPerMTok: 0.05 } },
      'acme.custom-model-v1:0': { name: 'Custom', contextWindow: 32_000, maxOutputTokens: 1_000, capabilities: { tools: true } },
    }
    const t = await app({ MODEL_CATALOG: JSON.stringify(catalog) })
    const user = await t.register()
    const data = await listModels(user)
    const lite = data.find((model) => model.id === 'amazon.nova-lite-v1:0')
    expect(lite).toMatchObject({ name: 'Nova Lite (negotiated)', contextWindow: 300_000, pricing: { inputPerMTok: 0.05, outputPerMTok: 0.24 }, default: true })
    expect(data.find((model) => model.id === 'us.amazon.nova-lite-v1:0')).toMatchObject({ name: 'Nova Lite (negotiated)', pricing: { inputPerMTok: 0.05 } })
    expect(data.find((model) => model.id === 'acme.custom-model-v1:0')).toEqual({
      id: 'acme.custom-model-v1:0',
      object: 'model',
      created: 0,
      owned_by: 'acme',
      name: 'Custom',
      contextWindow: 32_000,
      maxOutputTokens: 1_000,
      capabilities: { tools: true, vision: false, documents: false, reasoning: false, structuredOutput: false },
      pricing: { inputPerMTok: null, outputPerMTok: null, cacheReadPerMTok: null, cacheWritePerMTok: null },
      default: false,
    })

    requests.length = 0
    const res = await turn(user, { content: 'hi', modelId: 'acme.custom-model-v1:0', inference: { maxTokens: 5_000 } })
    expect(res.status).toBe(201)
    expect(requests).toHaveLength(1)
    expect(requests[0]).toMatchObject({ modelId: 'acme.custom-model-v1:0', inferenceConfig: { maxTokens: 1_000 } })
  })

  it('also takes MODEL_CATALOG as an array of entries with an id', () => {
    const config = parseConfig({
      JWT_SECRET: TEST_SECRET,
      MODEL_CATALOG: JSON.stringify([{ id: 'acme.a-v1:0', maxOutputTokens: 10 }, { id: HAIKU_3, maxOutputTokens: 2_000 }]),
    })
    const registry = modelRegistry(config)
    expect(registry.find('acme.a-v1:0')?.maxOutputTokens).toBe(10)
    expect(registry.find(`eu.${HAIKU_3}`)).toMatchObject({ id: `eu.${HAIKU_3}`, name: 'Claude 3 Haiku', maxOutputTokens: 2_000 })
  })

  it.each([
    ['not JSON', '{models: 1}'],
    ['a bad field', JSON.stringify({ 'acme.a-v1:0': { contextWindow: -5 } })],
    ['an unknown field', JSON.stringify({ 'acme.a-v1:0': { context: 5 } })],
    ['an id with a space', JSON.stringify({ 'acme a': {} })],
    ['an entry without an id', JSON.stringify([{ name: 'x' }])],
    ['the same id twice', JSON.stringify([{ id: 'acme.a-v1:0' }, { id: 'acme.a-v1:0' }])],
    ['a string', JSON.stringify('amazon.nova-lite-v1:0')],
  ])('refuses a MODEL_CATALOG with %s, naming the variable', (_, value) => {
    const parse = () => parseConfig({ JWT_SECRET: TEST_SECRET, MODEL_CATALOG: value })
    expect(parse).toThrow(ConfigError)
    expect(parse).toThrow(/^ {2}MODEL_CATALOG(\.|:)/m)
  })

  it('keeps the rule that DEFAULT_MODEL_ID must be one of MODEL_IDS', () => {
    expect(() => parseConfig({ JWT_SECRET: TEST_SECRET, MODEL_IDS: SONNET_45 })).toThrow(/DEFAULT_MODEL_ID: must be one of MODEL_IDS/)
  })
})

describe('turns and the catalog', () => {
  let t: TestApp
  let user: User
  beforeAll(async () => {
    t = await app({ DEFAULT_MAX_TOKENS: '8000' })
    user = await t.register()
  })

  it('refuses a model id in neither the catalog nor MODEL_IDS with 400 naming modelId, before any Bedrock call', async () => {
    requests.length = 0
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const res = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'hi', modelId: 'gpt-4o' } })
    const problem = await expectProblem(res, 400, 'validation_failed')
    expect(problem.errors).toEqual([{ path: 'modelId', message: expect.stringContaining('amazon.nova-lite-v1:0') }])
    expect(problem.detail).toMatch(/^modelId: "gpt-4o" is not a known model/)
    expect(requests).toHaveLength(0)
    expect((await (await user.call('GET', `/v1/conversations/${conv.id}/messages`)).json()).data).toEqual([])
    await expectProblem(await user.call('POST', '/v1/conversations', { body: { modelId: 'gpt-4o' } }), 400, 'validation_failed')
    // A region prefix Bedrock does not have, or a profile of an unknown model, is no way around it.
    await expectProblem(await turn(user, { content: 'hi', modelId: 'xx.amazon.nova-lite-v1:0' }), 400, 'validation_failed')
    await expectProblem(await turn(user, { content: 'hi', modelId: 'us.gpt-4o' }), 400, 'validation_failed')
    expect(requests).toHaveLength(0)
  })

  it('accepts cross-region inference profile ids and sends them as given', async () => {
    requests.length = 0
    for (const modelId of [`us.${SONNET_45}`, 'eu.amazon.nova-lite-v1:0', `global.${SONNET_45}`]) {
      const res = await turn(user, { content: 'hi', modelId })
      expect(res.status).toBe(201)
      expect((await res.json()).assistantMessage.modelId).toBe(modelId)
    }
    expect(requests.map((request) => request.modelId)).toEqual([`us.${SONNET_45}`, 'eu.amazon.nova-lite-v1:0', `global.${SONNET_45}`])
  })

  it("caps maxTokens, asked for or DEFAULT_MAX_TOKENS, at the model's output limit", async () => {
    requests.length = 0
    expect((await turn(user, { content: 'hi', modelId: HAIKU_3, inference: { maxTokens: 100_000, temperature: 0.5 } })).status).toBe(201)
    expect((await turn(user, { content: 'hi', modelId: `us.${HAIKU_3}` })).status).toBe(201)
    expect((await turn(user, { content: 'hi', modelId: HAIKU_3, inference: { maxTokens: 300 } })).status).toBe(201)
    expect((await turn(user, { content: 'hi', modelId: SONNET_45 })).status).toBe(201)
    expect(requests.map((request) => request.inferenceConfig)).toEqual([
      { maxTokens: 4_096, temperature: 0.5 },
      { maxTokens: 4_096 },
      { maxTokens: 300 },
      { maxTokens: 8_000 },
    ])
  })

  it("fits history to the model's context window when it is below DEFAULT_CONTEXT_TOKENS", async () => {
    // Llama 3 8B reads 8192 tokens: 2048 of them for the answer leave about 6100 (some 24,000 characters) of history.
    const modelId = 'meta.llama3-8b-instruct-v1:0'
    const conv = await (await user.call('POST', '/v1/conversations', { body: { modelId } })).json()
    const send = (content: string) => user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { stream: false, content } })
    expect((await send(`first ${'a'.repeat(20_000)}`)).status).toBe(201)
    requests.length = 0
    const res = await send(`second ${'b'.repeat(20_000)}`)
    expect(res.status).toBe(201)
    expect((await res.json()).assistantMessage.metadata.context.omittedMessages).toBeGreaterThanOrEqual(1)
    const sent = JSON.stringify(requests[0]!.messages)
    expect(sent).not.toContain('aaaa')
    expect(sent).toContain('bbbb')
    expect(requests[0]!.inferenceConfig).toEqual({ maxTokens: 2_048 })
  })
})

describe('the model label of metrics', () => {
  const generationSeries = async (t: TestApp) =>
    (await (await t.request('GET', '/metrics')).text()).split('\n').filter((line) => line.startsWith('edgechat_generations_total{'))

  it('is the id for catalog and MODEL_IDS models, and ids in neither never become series', async () => {
    const t = await app({ MODEL_IDS: `amazon.nova-lite-v1:0,acme.private-model-v1:0,us.${HAIKU_3}` })
    const user = await t.register()
    for (const modelId of ['acme.private-model-v1:0', `us.${HAIKU_3}`]) expect((await turn(user, { content: 'hi', modelId })).status).toBe(201)
    for (let i = 0; i < 10; i++) {
      await expectProblem(await turn(user, { content: 'hi', modelId: `random.model-${crypto.randomUUID()}` }), 400, 'validation_failed')
    }
    const series = await generationSeries(t)
    expect(series).toHaveLength(2)
    expect(series.some((line) => line.includes('model="acme.private-model-v1:0"'))).toBe(true)
    expect(series.some((line) => line.includes(`model="us.${HAIKU_3}"`))).toBe(true)
  })

  it('is other for an id in neither the catalog nor MODEL_IDS', () => {
    const config = parseConfig({ JWT_SECRET: TEST_SECRET, MODEL_IDS: 'amazon.nova-lite-v1:0,acme.private-model-v1:0' })
    const registry = modelRegistry(config)
    expect(registry.metricLabel('acme.private-model-v1:0')).toBe('acme.private-model-v1:0')
    expect(registry.metricLabel(`eu.${HAIKU_3}`)).toBe(`eu.${HAIKU_3}`)
    expect(new Set(Array.from({ length: 10 }, () => registry.metricLabel(`random.${crypto.randomUUID()}`)))).toEqual(new Set(['other']))
  })
})
