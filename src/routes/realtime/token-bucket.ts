/** `rate` units a second on average, `burst` at once. `now` is in milliseconds. */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number,
  ) {
    this.tokens = burst
    this.last = now()
  }

  take(): boolean {
    const now = this.now()
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.last) / 1000) * this.rate)
    this.last = now
    if (this.tokens < 1) return false
    this.tokens -= 1
    return true
  }

  /** Whole seconds until `take` can succeed again. */
  retryAfter(): number {
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate))
  }
}
