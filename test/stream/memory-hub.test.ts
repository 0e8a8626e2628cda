import { describe, expect, it } from 'vitest'
import type { GenerationEvent } from '../../src/stream/events'
import { createMemoryHub } from '../../src/stream/memory-hub'
import { collect, describeHubConformance } from './hub-conformance'

describeHubConformance('memory', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs })
  return { owner: hub, remote: hub, close: async () => {} }
})

describeHubConformance('memory (polling followers)', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs, followPollMs: 5 })
  return { owner: hub, remote: hub, close: async () => {} }
})

// Finished generations packed as soon as anything looks at the hub: every replay in the suite reads the archive.
describeHubConformance('memory (archived at once)', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs, archiveAfterMs: 0 })
  return { owner: hub, remote: hub, close: async () => {} }
})

describe('memory hub archive', () => {
  it('replays packed events exactly, whatever their text holds', async () => {
    const generationId = 'gen_"quoted"\\id'
    const tricky = ['"generationId":0', `"generationId":${JSON.stringify(generationId)}`, '\\"generationId\\":0', 'ünïcødé 🚀', '']
    const emitted: GenerationEvent[] = [
      { type: 'generation.started', data: { generationId, conversationId: 'conv_1', userMessageId: 'msg_1', assistantMessageId: 'msg_2', modelId: 'm' } },
      ...tricky.map((delta): GenerationEvent => ({ type: 'text.delta', data: { generationId, delta } })),
      { type: 'generation.completed', data: { generationId, assistantMessageId: 'msg_2', stopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 2 }, latencyMs: 3 } },
    ]
    let clock = 1_000
    const hub = createMemoryHub({ run: async (_task, { emit }) => emitted.forEach(emit), now: () => clock, archiveAfterMs: 5_000 })
    await hub.start({ generationId, conversationId: 'conv_1', task: 'chat', input: null })
    const live = await collect(await hub.subscribe(generationId, 0))
    expect(live.map(({ type, data }) => ({ type, data }))).toEqual(emitted)
    expect(live.map((event) => event.id)).toEqual(emitted.map((_, i) => i + 1))

    clock += 5_001
    expect(await hub.status(generationId)).toEqual({ state: 'completed', lastEventId: emitted.length }) // packs it
    expect(await collect(await hub.subscribe(generationId, 0))).toEqual(live)
    expect(await collect(await hub.subscribe(generationId, 3))).toEqual(live.slice(3))
    expect(await collect(await hub.subscribe(generationId, emitted.length))).toEqual([])
  })
})
