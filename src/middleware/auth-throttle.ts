/**
 * Login and registration throttling, so passwords cannot be guessed at request speed. Counted in the app's shared
 * counters (memory, Redis, Durable Objects), in fixed windows of AUTH_THROTTLE_WINDOW:
 * - login: failed attempts (401) per email from each client address, and per client address. Only failures count and
 *   nothing is delayed, so a login is refused only when its own address has failed too often (for this email, or at
 *   all): guesses at someone's password from elsewhere never lock that person out, and a user who signs in with the
 *   right password is never slowed by other people's failures (unless they share the address).
 * - registration: failed attempts (an email already taken, a bad body) per client address and per email: probing
 *   which emails have accounts is throttled, signing up is not slowed.
 * Over a limit → 429 `rate_limited` with `Retry-After` (the window's end), before the password is even hashed.
 */
import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import { AppError } from '../errors'
import { sha256Hex } from '../lib/crypto'
import type { AppEnv } from '../types'

/**
 * The caller's address: from X-Forwarded-For when TRUST_PROXY counts the proxies in front (the address the
 * outermost trusted proxy saw), else what the runtime entry reports (the socket's peer; CF-Connecting-IP on Workers).
 */
export function clientAddress(c: Context<AppEnv>): string | null {
  const { config, clientAddress: fromRuntime } = c.var.services
  if (config.TRUST_PROXY > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((hop) => hop.trim()).filter(Boolean)
    const address = hops[hops.length - config.TRUST_PROXY]
    if (address) return address
  }
  return fromRuntime(c.req.raw, c.env)
}

async function bodyEmail(c: Context<AppEnv>): Promise<string | null> {
  try {
    const body = (await c.req.json()) as { email?: unknown }
    return typeof body.email === 'string' ? body.email.toLowerCase() : null
  } catch {
    return null // the route's validation answers it
  }
}

interface Limit {
  key: string
  max: number
}

async function throttleKeys(c: Context<AppEnv>, kind: 'login' | 'register') {
  const { config } = c.var.services
  const windowMs = config.AUTH_THROTTLE_WINDOW * 1000
  const at = c.var.services.now().getTime()
  const window = Math.floor(at / windowMs)
  const windowEnd = (window + 1) * windowMs
  const email = await bodyEmail(c)
  const address = clientAddress(c)
  return {
    // A login's email counts per address (see above); a registration's everywhere.
    email: email ? { key: `${kind}-email:${await sha256Hex(kind === 'login' ? `${email}\n${address ?? ''}` : email)}#${window}`, max: config.AUTH_ATTEMPTS_PER_EMAIL } : null,
    address: address ? { key: `${kind}-address:${address}#${window}`, max: kind === 'login' ? config.LOGIN_FAILURES_PER_ADDRESS : config.REGISTRATION_FAILURES_PER_ADDRESS } : null,
    ttlMs: windowEnd - at + 1_000,
    refusal: (what: string) =>
      new AppError('rate_limited', `Too many ${what}; try again later`, {
        headers: { 'Retry-After': String(Math.max(1, Math.ceil((windowEnd - at) / 1000))) },
        members: { resetAt: new Date(windowEnd).toISOString() },
      }),
  }
}

const present = (limits: (Limit | null)[]) => limits.filter((limit): limit is Limit => limit !== null)

export const loginThrottle = createMiddleware<AppEnv>(async (c, next) => {
  const { counters } = c.var.services
  const { email, address, ttlMs, refusal } = await throttleKeys(c, 'login')
  const limits = present([email, address])
  const failures = await Promise.all(limits.map((limit) => counters.get(limit.key)))
  if (limits.some((limit, index) => failures[index]! >= limit.max)) throw refusal('failed sign-ins')
  await next()
  if (c.res.status === 401) await Promise.all(limits.map((limit) => counters.increment(limit.key, 1, ttlMs)))
})

export const registrationThrottle = createMiddleware<AppEnv>(async (c, next) => {
  const { counters } = c.var.services
  const { email, address, ttlMs, refusal } = await throttleKeys(c, 'register')
  const limits = present([email, address])
  const failures = await Promise.all(limits.map((limit) => counters.get(limit.key)))
  if (limits.some((limit, index) => failures[index]! >= limit.max)) throw refusal('failed registrations')
  await next()
  if (c.res.status >= 400 && c.res.status < 500) await Promise.all(limits.map((limit) => counters.increment(limit.key, 1, ttlMs)))
})
