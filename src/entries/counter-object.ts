/**
 * The Durable Object that keeps one limited subject's counters on Workers (`CounterObject` in the Worker entry,
 * binding COUNTERS, one object per subject via idFromName): src/governance/durable-object-counters.ts has its state
 * and the Worker's side of the RPC. Only the Worker entry imports this file (`cloudflare:workers`).
 */
import { DurableObject } from 'cloudflare:workers'
import type { Counters } from '../governance/counters'
import { counterStore, type CounterObjectRpc } from '../governance/durable-object-counters'

export class CounterObject<Env = unknown> extends DurableObject<Env> implements CounterObjectRpc {
  private readonly counters: Counters

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    this.counters = counterStore(ctx.storage)
  }

  increment(key: string, delta: number, ttlMs: number): Promise<number> {
    return this.counters.increment(key, delta, ttlMs)
  }

  get(key: string): Promise<number> {
    return this.counters.get(key)
  }

  hold(key: string, holder: string, amount: number, ttlMs: number): Promise<number> {
    return this.counters.hold(key, holder, amount, ttlMs)
  }

  release(key: string, holder: string): Promise<void> {
    return this.counters.release(key, holder)
  }
}
