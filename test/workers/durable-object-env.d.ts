// The Durable Object binding the workers test project gets from wrangler.toml (see durable-object-*.test.ts).
declare namespace Cloudflare {
  interface Env {
    GENERATIONS: DurableObjectNamespace<import('../../src/stream/durable-object-hub').GenerationObjectRpc>
  }
}
// The limits' counters (src/entries/counter-object.ts, wrangler.toml binding COUNTERS; see counters.test.ts).
declare namespace Cloudflare {
  interface Env {
    COUNTERS: DurableObjectNamespace<import('../../src/governance/durable-object-counters').CounterObjectRpc>
  }
}
