import { createMemoryHub } from '../../src/stream/memory-hub'
import { describeHubConformance } from './hub-conformance'

describeHubConformance('memory', async (run, { retentionMs }) => {
  const hub = createMemoryHub({ run, retentionMs })
  return { owner: hub, remote: hub, close: async () => {} }
})
