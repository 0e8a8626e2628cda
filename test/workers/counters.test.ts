// The counters conformance suite against the Durable Object counters inside workerd (CounterObject, binding
// COUNTERS from wrangler.toml, real Durable Object storage): two Worker-side clients, like two isolates.
import { env } from 'cloudflare:workers'
import { createDurableObjectCounters } from '../../src/governance/durable-object-counters'
import { describeCounterConformance } from '../governance/counter-conformance'

describeCounterConformance('durable object', async () => ({
  a: createDurableObjectCounters(env.COUNTERS),
  b: createDurableObjectCounters(env.COUNTERS),
  close: async () => {},
}))
