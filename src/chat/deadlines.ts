import { abortError } from '../bedrock/abort'

/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1

export type DeadlinePhase = 'connect' | 'first_token' | 'idle' | 'generation'

/** The abort reason when a model call misses one of its deadlines. */
export class UpstreamTimeout extends Error {
  override name = 'UpstreamTimeout'
  constructor(
    readonly phase: DeadlinePhase,
    readonly seconds: number,
  ) {
    super(
      {
        connect: `The model service did not answer within ${seconds} s`,
        first_token: `The model did not start its answer within ${seconds} s`,
        idle: `The model stopped sending its answer for ${seconds} s`,
        generation: `The generation ran past its limit of ${seconds} s`,
      }[phase],
    )
  }
}

export interface DeadlineSettings {
  /** Until the response headers. */
  connectSeconds: number
  /** Until the first content event (text, reasoning, tool use). */
  firstTokenSeconds: number
  /** Between two events once content flows. */
  idleSeconds: number
  /** The whole generation. */
  generationSeconds: number
}

/**
 * The deadlines of one generation's model call, as an AbortSignal: `signal` aborts with the outer signal's reason
 * (a cancel, an interruption) or with an UpstreamTimeout, so the two stay apart. Timers only: runs on every runtime.
 * The hot path (a chunk of the answer) costs a clock read: the idle timer is armed once and, when it fires early,
 * re-armed for what is left since the last chunk.
 */
export class Deadlines {
  private readonly controller = new AbortController()
  private readonly timers = new Map<DeadlinePhase, ReturnType<typeof setTimeout>>()
  private flowing = false
  private lastEventAt = 0
  /** Rejects the one `race` in progress when the signal aborts (awaits are sequential). */
  private rejectPending: ((error: unknown) => void) | null = null
  private readonly onOuterAbort: () => void

  constructor(
    private readonly outer: AbortSignal,
    private readonly settings: DeadlineSettings,
    private readonly now: () => number = Date.now,
  ) {
    this.onOuterAbort = () => this.abort(outer.reason)
    if (outer.aborted) this.onOuterAbort()
    else outer.addEventListener('abort', this.onOuterAbort, { once: true })
    this.arm('generation', settings.generationSeconds * 1000)
    this.arm('connect', settings.connectSeconds * 1000)
    this.arm('first_token', settings.firstTokenSeconds * 1000)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** The deadline that was missed, if that is why the signal aborted. */
  get timeout(): UpstreamTimeout | null {
    const reason: unknown = this.controller.signal.reason
    return reason instanceof UpstreamTimeout ? reason : null
  }

  /** The response headers arrived. */
  connected(): void {
    this.clear('connect')
  }

  /** Events arrived; `content` when some of them are content (the first such ends the first-token deadline). */
  events(content: boolean): void {
    if (this.flowing) {
      this.lastEventAt = this.now()
      return
    }
    if (!content) return
    this.flowing = true
    this.lastEventAt = this.now()
    this.clear('first_token')
    this.arm('idle', this.settings.idleSeconds * 1000)
  }

  /** Settles with `promise`, or rejects with an AbortError as soon as the signal aborts (whatever `promise` does). */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal
    if (signal.aborted) return Promise.reject(abortError(signal))
    return new Promise<T>((resolve, reject) => {
      this.rejectPending = reject
      promise.then(
        (value) => {
          this.rejectPending = null
          resolve(value)
        },
        (error: unknown) => {
          this.rejectPending = null
          reject(error)
        },
      )
    })
  }

  dispose(): void {
    for (const timer of this.timers.values()) clearTimeout(timer)
    this.timers.clear()
    this.outer.removeEventListener('abort', this.onOuterAbort)
  }

  private arm(phase: DeadlinePhase, ms: number): void {
    this.clear(phase)
    this.timers.set(phase, setTimeout(() => this.expire(phase), Math.min(ms, MAX_TIMER_MS)))
  }

  private expire(phase: DeadlinePhase): void {
    this.timers.delete(phase)
    if (phase === 'idle') {
      const left = this.lastEventAt + this.settings.idleSeconds * 1000 - this.now()
      if (left > 0) return this.arm('idle', left)
    }
    const seconds = { connect: this.settings.connectSeconds, first_token: this.settings.firstTokenSeconds, idle: this.settings.idleSeconds, generation: this.settings.generationSeconds }[phase]
    this.abort(new UpstreamTimeout(phase, seconds))
  }

  private clear(phase: DeadlinePhase): void {
    const timer = this.timers.get(phase)
    if (timer !== undefined) clearTimeout(timer)
    this.timers.delete(phase)
  }

  private abort(reason: unknown): void {
    if (this.controller.signal.aborted) return
    this.dispose()
    this.controller.abort(reason)
    this.rejectPending?.(abortError(this.controller.signal))
    this.rejectPending = null
  }
}
