import { SignJWT, createLocalJWKSet, exportJWK, generateKeyPair } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

const ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_TEST'
const AUDIENCE = 'edgechat-client'

let t: TestApp
let sign: (claims: Record<string, unknown>, options?: { iss?: string; aud?: string; exp?: number }) => Promise<string>
let rogue: typeof sign

beforeAll(async () => {
  const trusted = await generateKeyPair('RS256')
  const untrusted = await generateKeyPair('RS256')
  const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'k1', alg: 'RS256' }
  const signer = (key: CryptoKey) => (claims: Record<string, unknown>, options: { iss?: string; aud?: string; exp?: number } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setIssuer(options.iss ?? ISSUER)
      .setAudience(options.aud ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(key)
  sign = signer(trusted.privateKey)
  rogue = signer(untrusted.privateKey)
  t = await createTestApp({ OIDC_ISSUER: ISSUER, OIDC_AUDIENCE: AUDIENCE }, { oidcKeys: createLocalJWKSet({ keys: [jwk] }) })
})
afterAll(() => t.close())

describe('external OIDC tokens', () => {
  it('provisions a user with a personal workspace on first use, then maps to the same user', async () => {
    const token = await sign({ sub: 'abc-123', email: 'Cognito.User@example.com', email_verified: true, name: 'Cog' })
    const first = await (await t.request('GET', '/v1/me', { token })).json()
    expect(first.user).toMatchObject({ email: 'cognito.user@example.com', name: 'Cog' })
    expect(first.workspaces).toHaveLength(1)
    const again = await (await t.request('GET', '/v1/me', { token: await sign({ sub: 'abc-123', email: 'changed@example.com' }) })).json()
    expect(again.user.id).toBe(first.user.id)
  })

  it('links an existing account only when the issuer verified the email', async () => {
    const local = await t.register()
    await expectProblem(await t.request('GET', '/v1/me', { token: await sign({ sub: 'unverified', email: local.email }) }), 401, 'unauthorized')
    const linked = await (await t.request('GET', '/v1/me', { token: await sign({ sub: 'verified', email: local.email, email_verified: true }) })).json()
    expect(linked.user.id).toBe(local.user.id)
  })

  it('rejects wrong signature, audience, issuer, expiry and tokens without email', async () => {
    const claims = { sub: 'x-1', email: 'x1@example.com', email_verified: true }
    for (const token of [
      await rogue(claims),
      await sign(claims, { aud: 'someone-else' }),
      await sign(claims, { iss: 'https://evil.example.com' }),
      await sign(claims, { exp: Math.floor(Date.now() / 1000) - 60 }),
      await sign({ sub: 'no-email' }),
    ]) {
      await expectProblem(await t.request('GET', '/v1/me', { token }), 401, 'unauthorized')
    }
  })

  it('requires OIDC_AUDIENCE whenever OIDC_ISSUER is set', async () => {
    await expect(createTestApp({ OIDC_ISSUER: ISSUER })).rejects.toThrow(/OIDC_AUDIENCE/)
  })
})
