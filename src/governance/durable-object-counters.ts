/**
 * Counters on Workers: one Durable Object per limited subject (CounterObject in the Worker entry, binding COUNTERS,
 * named by the key's subject), whose single thread makes every operation atomic. `counterStore` is the object's
 * state over its storage; `createDurableObjectCounters` is the Worker's side of the RPC. Workers types in type
 * position only: this file never imports `cloudflare:workers`.
 */
import { subjectOf, type Counters } from './counters'

export interface CounterObjectRpc extends Rpc.DurableObjectBranded {
  increment(key: string, delta: number, ttlMs: number): Promise<number>
  get(key: string): Promise<number>
  hold(key: string, holder: string, amount: number, ttlMs: number): Promise<number>
  release(key: string, holder: string): Promise<void>
}

export function createDurableObjectCounters(namespace: DurableObjectNamespace<CounterObjectRpc>): Counters {
  const stub = (key: string) => namespace.get(namespace.idFromName(subjectOf(key)))
  return {
    increment: (key, delta, ttlMs) => stub(key).increment(key, delta, ttlMs),
    get: (key) => stub(key).get(key),
    hold: (key, holder, amount, ttlMs) => stub(key).hold(key, holder, amount, ttlMs),
    release: (key, holder) => stub(key).release(key, holder),
  }
}

interface Entry {
  value: number
  expiresAt: number
}

type Holders = Record<string, Entry>

/**
 * The counters of one object in its storage (`c:` counters, `h:` holds). Storage calls do not let other requests in
 * (input gates), so each operation runs alone. Expired counters are deleted as new ones are created.
 */
export function counterStore(storage: DurableObjectStorage, now: () => number = Date.now): Counters {
  const live = (entry: Entry | undefined, at: number) => (entry && entry.expiresAt > at ? entry : undefined)
  return {
    async increment(key, delta, ttlMs) {
      const at = now()
      let entry = live(await storage.get<Entry>(`c:${key}`), at)
      if (!entry) {
        const stale = [...(await storage.list<Entry>({ prefix: 'c:' })).entries()].filter(([, old]) => old.expiresAt <= at).map(([name]) => name)
        if (stale.length > 0) await storage.delete(stale)
        entry = { value: 0, expiresAt: at + ttlMs }
      }
      entry.value += delta
      await storage.put(`c:${key}`, entry)
      return entry.value
    },
    async get(key) {
      return live(await storage.get<Entry>(`c:${key}`), now())?.value ?? 0
    },
    async hold(key, holder, amount, ttlMs) {
      const at = now()
      const holders: Holders = Object.fromEntries(Object.entries((await storage.get<Holders>(`h:${key}`)) ?? {}).filter(([, entry]) => entry.expiresAt > at))
      holders[holder] = { value: amount, expiresAt: at + ttlMs }
      await storage.put(`h:${key}`, holders)
      return Object.values(holders).reduce((total, entry) => total + entry.value, 0)
    },
    async release(key, holder) {
      const holders = await storage.get<Holders>(`h:${key}`)
      if (!holders || !(holder in holders)) return
      delete holders[holder]
      if (Object.keys(holders).length === 0) await storage.delete(`h:${key}`)
      else await storage.put(`h:${key}`, holders)
    },
  }
}
