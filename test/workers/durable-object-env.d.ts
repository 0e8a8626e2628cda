// The Durable Object binding the workers test project gets from wrangler.toml (see durable-object-*.test.ts).
declare namespace Cloudflare {
  interface Env {
    GENERATIONS: DurableObjectNamespace<import('../../src/stream/durable-object-hub').GenerationObjectRpc>
  }
}
