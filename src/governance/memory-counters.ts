import type { Counters } from './counters'

interface Entry {
  value: number
  expiresAt: number
}

/** Counters in this process's memory (one process, or one isolate on Workers), expired lazily and by a sweep. */
export function createMemoryCounters(now: () => number = Date.now): Counters {
  const counters = new Map<string, Entry>()
  const holds = new Map<string, Map<string, Entry>>()
  let sweptAt = 0

  const sweep = (at: number) => {
    if (at - sweptAt < 60_000) return
    sweptAt = at
    for (const [key, entry] of counters) if (entry.expiresAt <= at) counters.delete(key)
    for (const [key, holders] of holds) {
      for (const [holder, entry] of holders) if (entry.expiresAt <= at) holders.delete(holder)
      if (holders.size === 0) holds.delete(key)
    }
  }

  return {
    increment(key, delta, ttlMs) {
      const at = now()
      sweep(at)
      let entry = counters.get(key)
      if (!entry || entry.expiresAt <= at) counters.set(key, (entry = { value: 0, expiresAt: at + ttlMs }))
      entry.value += delta
      return Promise.resolve(entry.value)
    },
    get(key) {
      const entry = counters.get(key)
      return Promise.resolve(entry && entry.expiresAt > now() ? entry.value : 0)
    },
    hold(key, holder, amount, ttlMs) {
      const at = now()
      sweep(at)
      let holders = holds.get(key)
      if (!holders) holds.set(key, (holders = new Map()))
      holders.set(holder, { value: amount, expiresAt: at + ttlMs })
      let total = 0
      for (const [name, entry] of holders) {
        if (entry.expiresAt <= at) holders.delete(name)
        else total += entry.value
      }
      return Promise.resolve(total)
    },
    release(key, holder) {
      const holders = holds.get(key)
      holders?.delete(holder)
      if (holders?.size === 0) holds.delete(key)
      return Promise.resolve()
    },
  }
}
