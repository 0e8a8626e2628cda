// The hub conformance suite against the Durable Object hub inside workerd, with real DO SQLite storage: the hubs are
// the Worker-side router (createDurableObjectHub), the generations run in GenerationObject instances. The objects
// run in this isolate (vitest-pool-workers runs `main`'s Durable Objects alongside the tests), so the suite's
// scripts reach them as a `test` task registered in `localTasks`.
//
// `owner` and `remote` are two routers sharing only the namespace and a directory of generation → conversation,
// the stand-in for the `generations` rows the Worker looks conversations up in (the suite's generations have none).
import { env } from 'cloudflare:workers'
import { localTasks } from '../../src/entries/generation-object'
import { BatchDecoder, createDurableObjectHub, encodeBatches } from '../../src/stream/durable-object-hub'
import type { GenerationHub, GenerationTask } from '../../src/stream/hub'
import type { SequencedEvent } from '../../src/stream/events'
import { describe, expect, it } from 'vitest'
import { describeHubConformance } from '../stream/hub-conformance'

describeHubConformance('durable object', async (run, { retentionMs }) => {
  localTasks.set('test', run)
  const directory = new Map<string, string>()
  const locate = async (generationId: string) => directory.get(generationId) ?? null
  const router = createDurableObjectHub({ namespace: env.GENERATIONS, locate, retentionMs })
  const owner: GenerationHub = {
    ...router,
    // As a turn does: the generation's row (here, its directory entry) exists before the hub starts it.
    async start(task: GenerationTask) {
      if (!directory.has(task.generationId)) directory.set(task.generationId, task.conversationId)
      await router.start(task)
    },
  }
  const remote = createDurableObjectHub({ namespace: env.GENERATIONS, locate, retentionMs })
  return { owner, remote, close: async () => void localTasks.delete('test') }
})

describe('durable object hub wire format', () => {
  const delta = (id: number, text: string): SequencedEvent => ({ id, type: 'text.delta', data: { generationId: 'g', delta: text } })

  it('decodes NDJSON batches however the pipe splits them, multi-byte characters included', async () => {
    async function* batches() {
      yield [delta(1, 'héllo'), delta(2, ' wörld')]
      yield [delta(3, ' 🌍\nnext line')]
    }
    const bytes = new Uint8Array(await new Response(encodeBatches(batches())).arrayBuffer())
    for (const size of [1, 2, 3, 7, bytes.length]) {
      const decoder = new BatchDecoder()
      const out: SequencedEvent[] = []
      for (let i = 0; i < bytes.length; i += size) out.push(...decoder.push(bytes.slice(i, i + size)))
      expect(out).toEqual([delta(1, 'héllo'), delta(2, ' wörld'), delta(3, ' 🌍\nnext line')])
    }
  })
})
