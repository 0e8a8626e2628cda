/**
 * Login and registration throttling over the real app: failures per email from an address and per address, counted
 * in the app's counters; 429 rate_limited with Retry-After; a right password from elsewhere is never refused for
 * other people's failures. Addresses come from X-Forwarded-For only with TRUST_PROXY.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

const apps: TestApp[] = []
afterAll(() => apps.forEach((app) => app.close()))

async function app(env: Record<string, string>) {
  const t = await createTestApp({ AUTH_ATTEMPTS_PER_EMAIL: '3', LOGIN_FAILURES_PER_ADDRESS: '5', REGISTRATION_FAILURES_PER_ADDRESS: '3', ...env })
  apps.push(t)
  return t
}

const login = (t: TestApp, email: string, password: string, from?: string) =>
  t.request('POST', '/v1/auth/login', { body: { email, password }, headers: from ? { 'x-forwarded-for': `203.0.113.9, ${from}` } : {} })

describe('login throttling', () => {
  it('refuses an email after its failures from one address, not from elsewhere; an address after its failures', async () => {
    const t = await app({ TRUST_PROXY: 'true' })
    const alice = await t.register('alice')
    const bob = await t.register('bob')
    for (let i = 0; i < 3; i++) await expectProblem(await login(t, alice.email, 'wrong password', '10.0.0.1'), 401, 'unauthorized')
    // Alice's email from 10.0.0.1 is throttled, even with the right password…
    const refused = await login(t, alice.email, alice.password, '10.0.0.1')
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0)
    const problem = await expectProblem(refused, 429, 'rate_limited')
    expect(typeof problem.resetAt).toBe('string')
    // …and with another spelling of it; but Alice signs in from her own address at once.
    await expectProblem(await login(t, alice.email.toUpperCase(), alice.password, '10.0.0.1'), 429, 'rate_limited')
    expect((await login(t, alice.email, alice.password, '10.0.0.2')).status).toBe(200)
    // Bob on 10.0.0.1 is not slowed by Alice's failures until the address itself has failed too often.
    expect((await login(t, bob.email, bob.password, '10.0.0.1')).status).toBe(200)
    await expectProblem(await login(t, 'nobody@example.com', 'x', '10.0.0.1'), 401, 'unauthorized')
    await expectProblem(await login(t, 'nobody-else@example.com', 'x', '10.0.0.1'), 401, 'unauthorized')
    await expectProblem(await login(t, bob.email, bob.password, '10.0.0.1'), 429, 'rate_limited')
    expect((await login(t, bob.email, bob.password, '10.0.0.3')).status).toBe(200)
    // Successes count nothing.
    for (let i = 0; i < 6; i++) expect((await login(t, bob.email, bob.password, '10.0.0.4')).status).toBe(200)
  })

  it('ignores X-Forwarded-For without TRUST_PROXY: changing it does not escape the throttle', async () => {
    const t = await app({})
    const carol = await t.register('carol')
    for (let i = 0; i < 3; i++) await expectProblem(await login(t, carol.email, 'wrong password', `10.1.0.${i}`), 401, 'unauthorized')
    await expectProblem(await login(t, carol.email, carol.password, '10.1.0.99'), 429, 'rate_limited')
  })

  it('answers bodies that are not JSON as validation failures, not throttling errors', async () => {
    const t = await app({})
    await expectProblem(await t.request('POST', '/v1/auth/login', { body: '{"email":', headers: { 'content-type': 'application/json' } }), 400, 'validation_failed')
  })
})

describe('registration throttling', () => {
  it('refuses an address after its failures, and an email after its failures; successes count nothing', async () => {
    const t = await app({ TRUST_PROXY: '1' })
    const register = (email: string, from: string, password = 'correct horse battery') =>
      t.request('POST', '/v1/auth/register', { body: { email, password }, headers: { 'x-forwarded-for': from } })
    for (let i = 0; i < 5; i++) expect((await register(`new${i}@example.com`, '10.2.0.1')).status).toBe(201)
    // Probing which emails have accounts (409s), or bad bodies, from one address…
    for (const email of ['new0@example.com', 'new1@example.com']) await expectProblem(await register(email, '10.2.0.1'), 409, 'conflict')
    await expectProblem(await register('fresh@example.com', '10.2.0.1', 'short'), 400, 'validation_failed')
    // …throttles that address, not the others.
    await expectProblem(await register('new5@example.com', '10.2.0.1'), 429, 'rate_limited')
    expect((await register('new5@example.com', '10.2.0.2')).status).toBe(201)
    // The same email again and again is refused from anywhere.
    for (let i = 0; i < 3; i++) await expectProblem(await register('new5@example.com', `10.3.0.${i}`), 409, 'conflict')
    await expectProblem(await register('new5@example.com', '10.3.0.9'), 429, 'rate_limited')
  })
})
