/**
 * The conformance suite every Counters implementation passes (memory, Redis, Durable Object): the same behaviour
 * behind the one interface. `open` gives a fresh, empty namespace of counters (two clients of it when the store is
 * shared, like two processes). Expiry is checked with short TTLs and waits well past them; nothing asserts a
 * duration.
 */
import { describe, expect, it } from 'vitest'
import type { Counters } from '../../src/governance/counters'

export interface CounterFixture {
  /** Two clients of the same store (the same client twice for a store in one process). */
  a: Counters
  b: Counters
  close(): Promise<void>
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const LONG = 60_000
const SHORT = 150

export function describeCounterConformance(name: string, open: () => Promise<CounterFixture>) {
  describe(`counters conformance: ${name}`, () => {
    const withCounters = (test: (fixture: CounterFixture, key: (name: string) => string) => Promise<void>) => async () => {
      const fixture = await open()
      const prefix = `t${crypto.randomUUID().slice(0, 8)}`
      try {
        await test(fixture, (suffix) => `${prefix}:${suffix}`)
      } finally {
        await fixture.close()
      }
    }

    it(
      'increments return running totals, per key, seen by every client; get reads without changing',
      withCounters(async ({ a, b }, key) => {
        expect(await a.get(key('x#1'))).toBe(0)
        expect(await a.increment(key('x#1'), 1, LONG)).toBe(1)
        expect(await b.increment(key('x#1'), 2, LONG)).toBe(3)
        expect(await a.increment(key('x#1'), -1, LONG)).toBe(2)
        expect(await b.increment(key('x#2'), 5, LONG)).toBe(5)
        expect(await b.increment(key('y#1'), 7, LONG)).toBe(7)
        expect(await b.get(key('x#1'))).toBe(2)
        expect(await a.get(key('x#1'))).toBe(2)
        expect(await a.get(key('x#2'))).toBe(5)
      }),
    )

    it(
      'is atomic: concurrent increments from two clients each see a distinct total',
      withCounters(async ({ a, b }, key) => {
        const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).increment(key('race#n'), 1, LONG)))
        expect([...results].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
        expect(await a.get(key('race#n'))).toBe(40)
      }),
    )

    it(
      'expires a counter ttl after its creation, not after its last increment (a fixed window)',
      withCounters(async ({ a, b }, key) => {
        await a.increment(key('w#1'), 1, SHORT)
        await sleep(SHORT / 2)
        expect(await b.increment(key('w#1'), 1, SHORT)).toBe(2)
        await sleep(SHORT + 300)
        expect(await a.get(key('w#1'))).toBe(0)
        expect(await b.increment(key('w#1'), 1, LONG)).toBe(1)
      }),
    )

    it(
      'holds: totals over holders, a holder replaces its amount, release gives it back, unknown releases do nothing',
      withCounters(async ({ a, b }, key) => {
        expect(await a.hold(key('h#cost'), 'g1', 10, LONG)).toBe(10)
        expect(await b.hold(key('h#cost'), 'g2', 5, LONG)).toBe(15)
        expect(await a.hold(key('h#cost'), 'g1', 3, LONG)).toBe(8)
        await b.release(key('h#cost'), 'g1')
        await a.release(key('h#cost'), 'nobody')
        await a.release(key('other#cost'), 'g2')
        expect(await a.hold(key('h#cost'), 'g3', 1, LONG)).toBe(6)
        await a.release(key('h#cost'), 'g2')
        await a.release(key('h#cost'), 'g3')
        expect(await b.hold(key('h#cost'), 'g4', 2, LONG)).toBe(2)
      }),
    )

    it(
      'holds are atomic: concurrent holders each see a distinct total',
      withCounters(async ({ a, b }, key) => {
        const totals = await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 2 ? a : b).hold(key('slots#running'), `g${i}`, 1, LONG)))
        expect([...totals].sort((x, y) => x - y)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1))
      }),
    )

    it(
      'an expired hold no longer counts (a crashed holder frees its slot)',
      withCounters(async ({ a, b }, key) => {
        await a.hold(key('crash#running'), 'dead', 1, SHORT)
        expect(await b.hold(key('crash#running'), 'alive', 1, LONG)).toBe(2)
        await sleep(SHORT + 300)
        expect(await b.hold(key('crash#running'), 'next', 1, LONG)).toBe(2)
      }),
    )
  })
}
