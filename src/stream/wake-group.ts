/**
 * Followers waiting for a generation's next events. `wake()` may be called per event; the waiters run once per
 * microtask, so a burst of events reaches each follower as one batch.
 */
export class WakeGroup {
  private waiters = new Set<() => void>()
  private scheduled = false

  add(waiter: () => void): void {
    this.waiters.add(waiter)
  }

  wake(): void {
    if (this.scheduled) return
    this.scheduled = true
    queueMicrotask(() => {
      this.scheduled = false
      const waiters = this.waiters
      this.waiters = new Set()
      for (const waiter of waiters) waiter()
    })
  }
}
