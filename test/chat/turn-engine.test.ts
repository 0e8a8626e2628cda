// The turn engine's seams: the stateless turn (nothing stored), the governance hooks, the task registry and the
// neutral model client over Bedrock.
import { afterEach, describe, expect, it } from 'vitest'
import { z } from '@hono/zod-openapi'
import { buildServices, type AppDependencies } from '../../src/app'
import { bedrockModelClient } from '../../src/bedrock/bedrock-models'
import { createBedrockEmulator } from '../../src/bedrock/emulator'
import { modelClientFromConfig } from '../../src/bedrock/model-client'
import type { BedrockClient, ConverseStreamEvent } from '../../src/bedrock/types'
import { chatTask } from '../../src/chat/chat-task'
import type { Governance, UsageRecord } from '../../src/chat/governance'
import { runStatelessTurn } from '../../src/chat/stateless-turn'
import { turnProducer } from '../../src/chat/turn-producer'
import { startTurn } from '../../src/chat/turns'
import { parseConfig } from '../../src/config'
import { libsqlDatabase } from '../../src/db/libsql'
import { openDatabase } from '../../src/entries/local'
import { AppError } from '../../src/errors'
import { ModelError, type ModelPart } from '../../src/models/model-client'
import { collectTurn } from '../../src/protocols/collect-turn'
import type { GenerationEvent, SequencedEvent } from '../../src/stream/events'
import { createTaskRegistry, defineTask } from '../../src/stream/tasks'
import type { AuthContext, Services } from '../../src/types'
import { createTestApp, TEST_SECRET } from '../helpers'

const closers: (() => void)[] = []
let lastClient: Awaited<ReturnType<typeof openDatabase>>
afterEach(() => closers.splice(0).forEach((close) => close()))

async function services(env: Record<string, string> = {}, deps: Partial<AppDependencies> = {}): Promise<Services> {
  const config = parseConfig({ DATABASE_URL: ':memory:', JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...env })
  const client = await openDatabase(config)
  closers.push(() => client.close())
  lastClient = client
  // The stateless caller below, with the personal workspace its usage is billed to.
  await client.batch([
    `insert into users (id, email, created_at, updated_at) values ('usr_stateless', 'stateless@example.com', 0, 0)`,
    `insert into workspaces (id, name, personal, created_at, updated_at) values ('ws_stateless', 'Personal', 1, 0, 0)`,
    `insert into memberships (workspace_id, user_id, role, created_at) values ('ws_stateless', 'usr_stateless', 'owner', 0)`,
  ], 'write')
  return buildServices({ config, db: libsqlDatabase(client), models: modelClientFromConfig(config, { emulator: createBedrockEmulator }).models, ...deps })
}

const auth: AuthContext = { userId: 'usr_stateless', apiKeyId: null, workspaceScope: null, scopes: ['read', 'chat', 'admin'] }
const ask = (text: string) => [{ role: 'user' as const, parts: [{ type: 'text' as const, text }], status: 'complete' }]
const types = (events: SequencedEvent[]) => events.map((event) => event.type)

async function all(events: AsyncIterable<SequencedEvent[]>): Promise<SequencedEvent[][]> {
  const batches: SequencedEvent[][] = []
  for await (const batch of events) batches.push(batch)
  return batches
}

describe('runStatelessTurn', () => {
  it('answers the history given in the request and stores nothing', async () => {
    const s = await services()
    const batches = await all(await runStatelessTurn(s, { auth, system: 'Be brief.', messages: ask('[[emulator tokens=12]] hello') }))
    const events = batches.flat()
    expect(events.map((event) => event.id)).toEqual(events.map((_, index) => index + 1))
    expect(events[0]).toMatchObject({ type: 'generation.started', data: { conversationId: '', assistantMessageId: '' } })
    expect(events.at(-1)).toMatchObject({ type: 'generation.completed', data: { stopReason: 'end_turn' } })
    expect(events.filter((event) => event.type === 'text.delta').length).toBeGreaterThan(1)
    for (const table of ['messages', 'generations', 'conversations']) {
      const { rows } = await lastClient.execute(`select count(*) as n from ${table}`)
      expect(rows[0]!.n).toBe(0)
    }
  })

  it('folds into one answer with collectTurn', async () => {
    const s = await services()
    const turn = await collectTurn(await runStatelessTurn(s, { auth, system: null, messages: ask('[[emulator tokens=5]] fold') }))
    expect(turn.ending).toMatchObject({ type: 'completed', stopReason: 'end_turn' })
    expect(turn.text.length).toBeGreaterThan(0)
    expect(turn.usage?.outputTokens).toBeGreaterThan(0)
    expect(turn.modelId).toBe(s.config.DEFAULT_MODEL_ID)
  })

  it('is cancelled by its signal, and ends at a missed deadline', async () => {
    const s = await services({ UPSTREAM_FIRST_TOKEN_TIMEOUT_SECONDS: '0.2' })
    const controller = new AbortController()
    const events = await runStatelessTurn(s, { auth, system: null, messages: ask('[[emulator tokens=2000 delay=20]] long'), signal: controller.signal })
    const seen: SequencedEvent[] = []
    for await (const batch of events) {
      seen.push(...batch)
      if (batch.some((event) => event.type === 'text.delta')) controller.abort()
    }
    expect(seen.at(-1)?.type).toBe('generation.cancelled')

    const stalled = await collectTurn(await runStatelessTurn(s, { auth, system: null, messages: ask('[[emulator ttft=1000000]] think') }))
    expect(stalled.ending).toMatchObject({ type: 'failed', code: 'upstream_timeout', retryable: true })
  })

  it('keeps a chunk\'s events together: one batch per model batch', async () => {
    const s = await services({}, {
      models: fakeBedrock([
        [{ type: 'messageStart', role: 'assistant' }, { type: 'textDelta', index: 0, text: 'a' }, { type: 'textDelta', index: 0, text: 'b' }],
        [{ type: 'textDelta', index: 0, text: 'c' }, { type: 'contentBlockStop', index: 0 }, { type: 'messageStop', stopReason: 'end_turn' }],
      ]),
    })
    const batches = await all(await runStatelessTurn(s, { auth, system: null, messages: ask('batches') }))
    const deltas = batches.map((batch) => batch.filter((event) => event.type === 'text.delta').length).filter((count) => count > 0)
    expect(deltas).toEqual([2, 1])
  })

  it('stops the model call when the reader leaves the loop', async () => {
    let aborted = false
    const models: BedrockClient = {
      converse: () => Promise.reject(new Error('not used')),
      converseStream: async (_request, options) =>
        (async function* (): AsyncGenerator<ConverseStreamEvent> {
          options?.signal?.addEventListener('abort', () => (aborted = true))
          for (;;) {
            yield { type: 'textDelta', index: 0, text: 'x' }
            await new Promise((resolve) => setTimeout(resolve, 5))
          }
        })(),
    }
    const s = await services({}, { models })
    for await (const batch of await runStatelessTurn(s, { auth, system: null, messages: ask('endless') })) {
      if (batch.some((event) => event.type === 'text.delta')) break
    }
    await expect.poll(() => aborted).toBe(true)
  })
})

describe('governance hooks', () => {
  function recording(refuse = false) {
    const usage: UsageRecord[] = []
    const checked: string[] = []
    const governance: Governance = {
      checkLimits: async (turn) => {
        checked.push(turn.modelId)
        if (refuse) throw new AppError('rate_limited', 'Over budget')
      },
      releaseLimits: async () => {},
      recordUsage: async (record) => void usage.push(record),
      limitsChanged: () => {},
    }
    return { governance, usage, checked }
  }

  it('checks limits before anything is stored and records usage before the outcome is announced', async () => {
    const hooks = recording()
    const t = await createTestApp({}, { governance: hooks.governance })
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const res = await user.call('POST', `/v1/conversations/${conversation.id}/messages`, { body: { content: '[[emulator tokens=4]] hi', stream: false } })
    expect(res.status).toBe(201)
    expect(hooks.checked).toHaveLength(1)
    expect(hooks.usage).toEqual([
      expect.objectContaining({ userId: user.user.id, conversationId: conversation.id, outcome: 'completed', outputTokens: expect.any(Number) }),
    ])
    expect(hooks.usage[0]!.outputTokens).toBeGreaterThan(0)

    const refusing = recording(true)
    const r = await createTestApp({}, { governance: refusing.governance })
    const other = await r.register()
    const refused = await (await other.call('POST', '/v1/conversations', { body: {} })).json()
    const answer = await other.call('POST', `/v1/conversations/${refused.id}/messages`, { body: { content: 'hi', stream: false } })
    expect(answer.status).toBe(429)
    const { rows } = await r.client.execute('select count(*) as n from messages')
    expect(rows[0]!.n).toBe(0)
    await expect(runStatelessTurn(await services({}, { governance: refusing.governance }), { auth, system: null, messages: ask('hi') })).rejects.toMatchObject({
      code: 'rate_limited',
    })
  })

  it('startTurn hands the running producer to waitUntil', async () => {
    const t = await createTestApp()
    const user = await t.register()
    const conversation = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const s = buildServices({ config: { ...t.config }, db: t.db, models: modelClientFromConfig(t.config, { emulator: createBedrockEmulator }).models })
    const kept: Promise<unknown>[] = []
    const me: AuthContext = { userId: user.user.id, apiKeyId: null, workspaceScope: null, scopes: ['read', 'chat', 'admin'] }
    const turn = await startTurn(s, me, conversation.id, { content: '[[emulator tokens=3]] keep' }, { waitUntil: (promise) => kept.push(promise) })
    expect(kept).toHaveLength(1)
    await kept[0]
    expect((await s.hub.status(turn.generation.id))?.state).toBe('completed')
  })
})

describe('task registry', () => {
  const context = () => {
    const emitted: GenerationEvent[] = []
    return { emitted, context: { signal: new AbortController().signal, emit: (event: GenerationEvent) => void emitted.push(event) } }
  }

  it('validates a task input that arrives from elsewhere, runs it, and recovers with the task or as interrupted', async () => {
    const echo = defineTask<string, { text: string }>({
      name: 'echo',
      input: z.object({ text: z.string() }),
      run: async (prefix, input, { emit }) => emit({ type: 'text.delta', data: { generationId: 'g', delta: prefix + input.text } }),
      recover: async (prefix, generationId) => [{ type: 'generation.failed', data: { generationId, code: 'interrupted', message: prefix, retryable: true } }],
    })
    const registry = createTaskRegistry(() => '> ', [echo])
    const ok = context()
    await registry.run({ generationId: 'g', conversationId: 'c', task: 'echo', input: { text: 'hi' } }, ok.context)
    expect(ok.emitted).toEqual([{ type: 'text.delta', data: { generationId: 'g', delta: '> hi' } }])
    expect(registry.parse({ generationId: 'g', conversationId: 'c', task: 'echo', input: { text: 'hi', extra: 1 } }).input).toEqual({ text: 'hi' })
    expect(() => registry.parse({ generationId: 'g', conversationId: 'c', task: 'echo', input: { text: 1 } })).toThrow(/invalid input/)
    expect(() => registry.parse({ generationId: 'g', conversationId: 'c', task: 'nope', input: {} })).toThrow(/unknown task/)
    await expect(registry.run({ generationId: 'g', conversationId: 'c', task: 'nope', input: {} }, context().context)).rejects.toThrow(/unknown task/)
    expect(await registry.recover('echo', 'g', [])).toEqual([expect.objectContaining({ data: expect.objectContaining({ message: '> ' }) })])
    expect(await registry.recover('nope', 'g', [])).toEqual([expect.objectContaining({ type: 'generation.failed', data: expect.objectContaining({ code: 'interrupted' }) })])
  })

  it('refuses a chat input without its generation', async () => {
    const s = await services()
    expect(() => s.tasks.parse({ generationId: 'g', conversationId: 'c', task: chatTask.name, input: { history: [] } })).toThrow(/invalid input/)
  })
})

/** A Bedrock client answering with these event batches (as the real client's `batches()` gives them). */
function fakeBedrock(list: ConverseStreamEvent[][]): BedrockClient {
  return {
    converse: () => Promise.reject(new Error('not used')),
    converseStream: async () => {
      async function* one() {
        for (const batch of list) yield* batch
      }
      return Object.assign(one(), {
        batches: async function* () {
          yield* list
        },
      })
    },
  }
}

describe('bedrockModelClient', () => {
  const request = { modelId: 'm', system: null, messages: ask('hi'), inference: {} }

  it('yields the batches as they arrived, as neutral parts', async () => {
    const client = bedrockModelClient(
      fakeBedrock([
        [{ type: 'messageStart', role: 'assistant' }, { type: 'contentBlockStart', index: 0 }, { type: 'textDelta', index: 0, text: 'a' }],
        [
          { type: 'textDelta', index: 0, text: 'b' },
          { type: 'contentBlockStop', index: 0 },
          { type: 'contentBlockStart', index: 1, toolUse: { toolUseId: 't1', name: 'search' } },
          { type: 'toolUseDelta', index: 1, input: '{}' },
          { type: 'contentBlockStop', index: 1 },
          { type: 'messageStop', stopReason: 'tool_use' },
          { type: 'metadata', usage: { inputTokens: 3, outputTokens: 2 }, metrics: { latencyMs: 1 } },
        ],
      ]),
    )
    const batches: ModelPart[][] = []
    for await (const batch of await client.stream(request, { signal: new AbortController().signal })) batches.push(batch)
    expect(batches).toEqual([
      [{ type: 'textDelta', index: 0, text: 'a' }],
      [
        { type: 'textDelta', index: 0, text: 'b' },
        { type: 'blockEnd', index: 0 },
        { type: 'toolCallStart', index: 1, toolCallId: 't1', name: 'search' },
        { type: 'toolCallDelta', index: 1, input: '{}' },
        { type: 'blockEnd', index: 1 },
        { type: 'stop', reason: 'tool_use' },
        { type: 'usage', usage: { inputTokens: 3, outputTokens: 2 } },
      ],
    ])
  })

  it('throws ModelError with our code, a public message and the provider text for the log only', async () => {
    const s = await services()
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:foundation-model/secret'
    const error = await s.models
      .stream({ ...request, modelId: s.config.DEFAULT_MODEL_ID, messages: ask(`[[emulator error=ThrottlingException error-message=${JSON.stringify(arn)}]]`) }, { signal: new AbortController().signal })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(ModelError)
    expect(error).toMatchObject({ code: 'rate_limited', retryable: true, status: 429 })
    expect((error as ModelError).message).not.toContain('123456789012')
    expect((error as ModelError).log).toMatchObject({ upstreamType: 'ThrottlingException', upstreamMessage: expect.stringContaining('123456789012') })
  })
})

describe('turnProducer', () => {
  it('counts a turn once, and frees the active gauge, when storing its outcome fails and is retried as a failure', async () => {
    const s = await services()
    const generationId = 'gen_store_fails'
    const stored: string[] = []
    const persistence = {
      async finish(outcome: { state: string }) {
        stored.push(outcome.state)
        if (stored.length === 1) throw new Error('disk full')
      },
    }
    const producer = turnProducer(
      s,
      {
        generationId,
        modelId: 'amazon.nova-lite-v1:0',
        started: { type: 'generation.started', data: { generationId, conversationId: '', userMessageId: '', assistantMessageId: '', modelId: 'amazon.nova-lite-v1:0' } },
        assistantMessageId: '',
        request: async () => ({ modelId: 'amazon.nova-lite-v1:0', system: null, messages: ask('[[emulator tokens=3]] hi'), inference: { maxTokens: 64 } }),
        account: { workspaceId: null, userId: auth.userId, apiKeyId: null, conversationId: null },
      },
      persistence,
    )
    const emitted: GenerationEvent[] = []
    await producer({ signal: new AbortController().signal, emit: (event) => void emitted.push(event) })
    expect(stored).toEqual(['completed', 'failed'])
    expect(emitted.at(-1)).toMatchObject({ type: 'generation.failed', data: { code: 'internal' } })
    const metrics = s.metrics.render()
    expect(metrics).toMatch(/^edgechat_active_generations 0$/m)
    expect(metrics.match(/^edgechat_generations_total\{.*\} 1$/gm)).toHaveLength(1)
    expect(metrics).toMatch(/^edgechat_generations_total\{.*outcome="failed".*\} 1$/m)
  })
})
