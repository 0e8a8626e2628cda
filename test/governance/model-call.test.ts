/** meteredModelCall: a model call outside a generation (a title), limited and recorded like a turn's. */
import { afterAll, describe, expect, it } from 'vitest'
import { buildServices } from '../../src/app'
import { createBedrockEmulator } from '../../src/bedrock/emulator'
import { modelClientFromConfig } from '../../src/bedrock/model-client'
import { writeLimits } from '../../src/governance/limits'
import { meteredModelCall } from '../../src/governance/model-call'
import type { ModelUsage } from '../../src/models/model-client'
import type { AuthContext, Services } from '../../src/types'
import { createTestApp, type TestApp } from '../helpers'

const MODEL = 'amazon.nova-lite-v1:0'
const apps: TestApp[] = []
afterAll(() => apps.forEach((app) => app.close()))

async function setup() {
  const t = await createTestApp()
  apps.push(t)
  const services = buildServices({ config: t.config, db: t.db, models: modelClientFromConfig(t.config, { emulator: createBedrockEmulator }).models })
  const user = await t.register()
  const auth: AuthContext = { userId: user.user.id, apiKeyId: null, workspaceScope: null, scopes: ['read', 'chat', 'admin'] }
  return { t, services, user, auth, who: { auth, workspaceId: user.workspace.id, conversationId: null, modelId: MODEL } }
}

/** A real model call to the emulator: its text and reported usage. */
async function title(services: Services, tokens: number): Promise<{ result: string; usage: ModelUsage | null }> {
  let text = ''
  let usage: ModelUsage | null = null
  const request = { modelId: MODEL, system: 'Title this', messages: [{ role: 'user' as const, parts: [{ type: 'text' as const, text: `[[emulator tokens=${tokens}]] hi` }], status: 'complete' }], inference: {} }
  for await (const batch of await services.models.stream(request, { signal: new AbortController().signal })) {
    for (const part of batch) {
      if (part.type === 'textDelta') text += part.text
      if (part.type === 'usage') usage = part.usage
    }
  }
  return { result: text, usage }
}

describe('meteredModelCall', () => {
  it('writes one ledger row (no generation) priced from the catalog, and returns the result', async () => {
    const { t, services, who } = await setup()
    const text = await meteredModelCall(services, who, () => title(services, 6))
    expect(text.length).toBeGreaterThan(0)
    const rows = (await t.client.execute('select * from usage_records')).rows
    expect(rows).toHaveLength(1)
    expect(rows[0]).toMatchObject({ workspace_id: who.workspaceId, generation_id: null, output_tokens: 6, model_id: MODEL })
    // nova-lite: 0.06 $/MTok in, 0.24 $/MTok out = 60,000 and 240,000 pico-dollars per token.
    expect(rows[0]!.cost_pico_usd).toBe(Number(rows[0]!.input_tokens) * 60_000 + 6 * 240_000)
  })

  it('refuses before calling when a budget is spent, and gives back its hold when the call throws', async () => {
    const { t, services, who } = await setup()
    await writeLimits(t.db, who.workspaceId, { perMember: { period: 'day', maxTokens: 5, maxConcurrentGenerations: 1 } }, new Date())
    await expect(meteredModelCall(services, who, () => Promise.reject(new Error('model down')))).rejects.toThrow('model down')
    await meteredModelCall(services, who, () => title(services, 8))
    let called = false
    await expect(
      meteredModelCall(services, who, async () => {
        called = true
        return { result: '', usage: null }
      }),
    ).rejects.toMatchObject({ code: 'quota_exceeded' })
    expect(called).toBe(false)
    expect((await t.client.execute('select count(*) as n from usage_records')).rows[0]!.n).toBe(1)
  })

  it('takes no concurrency slot: a title runs beside a generation holding the only one, and does not block the next', async () => {
    const { t, services, who } = await setup()
    await writeLimits(t.db, who.workspaceId, { perMember: { period: 'day', maxConcurrentGenerations: 1 } }, new Date())
    const running = { ...who, conversationId: null, generationId: 'gen_running' }
    await services.governance.checkLimits(running)
    await meteredModelCall(services, who, () => title(services, 3))
    await expect(services.governance.checkLimits({ ...running, generationId: 'gen_second' })).rejects.toMatchObject({ code: 'rate_limited' })
    await services.governance.releaseLimits(running)
    await services.governance.checkLimits({ ...running, generationId: 'gen_second' })
  })
})
