import { createMemoryCounters } from '../../src/governance/memory-counters'
import { describeCounterConformance } from './counter-conformance'

describeCounterConformance('memory', async () => {
  const counters = createMemoryCounters()
  return { a: counters, b: counters, close: async () => {} }
})
