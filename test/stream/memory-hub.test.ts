import { createMemoryHub } from '../../src/stream/memory-hub'
import { describeHubConformance } from './hub-conformance'

describeHubConformance('memory', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs })
  return { owner: hub, remote: hub, close: async () => {} }
})

describeHubConformance('memory (polling followers)', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs, followPollMs: 5 })
  return { owner: hub, remote: hub, close: async () => {} }
})
