/**
 * Counters that hold across processes, the one interface behind rate limits, concurrency and running spend: memory
 * (one process), Redis (several Node/Bun processes), a Durable Object (Workers). Each operation is atomic in its
 * store. Keys are `subject#detail`: the Durable Object implementation keeps one object per subject.
 */
export interface Counters {
  /**
   * Adds `delta` to the counter at `key` and returns the new value. A counter that does not exist starts at 0 and
   * expires `ttlMs` after it was created (a fixed window: later additions do not extend it).
   */
  increment(key: string, delta: number, ttlMs: number): Promise<number>
  /** The counter's value: 0 when it does not exist or has expired. */
  get(key: string): Promise<number>
  /**
   * Holds `amount` under `key` for `holder` (replacing the holder's earlier amount) until it is released or `ttlMs`
   * passes, and returns what all unexpired holders of `key` hold together, this one included.
   */
  hold(key: string, holder: string, amount: number, ttlMs: number): Promise<number>
  /** Ends a hold; releasing what is not held does nothing. */
  release(key: string, holder: string): Promise<void>
}

/** The part of a key that names its subject (the Durable Object that owns it). */
export const subjectOf = (key: string): string => {
  const at = key.indexOf('#')
  return at < 0 ? key : key.slice(0, at)
}
