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
 */
export class Deadlines {
  private readonly controller = new AbortController()
  private readonly timers = new Map<DeadlinePhase, ReturnType<typeof setTimeout>>()
  private flowing = false
  private readonly onOuterAbort: () => void

  constructor(
    private readonly outer: AbortSignal,
    private readonly settings: DeadlineSettings,
  ) {
    this.onOuterAbort = () => this.abort(outer.reason)
    if (outer.aborted) this.onOuterAbort()
    else outer.addEventListener('abort', this.onOuterAbort, { once: true })
    this.arm('generation', settings.generationSeconds)
    this.arm('connect', settings.connectSeconds)
    this.arm('first_token', settings.firstTokenSeconds)
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
    if (!this.flowing && content) {
      this.flowing = true
      this.clear('first_token')
    }
    if (this.flowing) this.arm('idle', this.settings.idleSeconds)
  }

  /** Settles with `promise`, or rejects with an AbortError as soon as the signal aborts (whatever `promise` does). */
  race<T>(promise: Promise<T>): Promise<T> {
    const signal = this.controller.signal
    if (signal.aborted) return Promise.reject(abortError(signal))
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(abortError(signal))
      signal.addEventListener('abort', onAbort, { once: true })
      promise.then(
        (value) => {
          signal.removeEventListener('abort', onAbort)
          resolve(value)
        },
        (error: unknown) => {
          signal.removeEventListener('abort', onAbort)
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

  private arm(phase: DeadlinePhase, seconds: number): void {
    this.clear(phase)
    this.timers.set(
      phase,
      setTimeout(() => this.abort(new UpstreamTimeout(phase, seconds)), Math.min(seconds * 1000, MAX_TIMER_MS)),
    )
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
  }
}
