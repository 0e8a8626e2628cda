import { SignJWT, jwtVerify } from 'jose'
import type { Services } from '../types'

export const TOKEN_ISSUER = 'edgechat'
export const TOKEN_AUDIENCE = 'edgechat-api'

/** The HMAC key imported once per secret: jose would otherwise import it again on every request. */
const keys = new Map<string, Promise<CryptoKey>>()
function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret)
  if (!key) {
    key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    keys.set(secret, key)
  }
  return key
}

export async function signAccessToken(services: Services, userId: string): Promise<string> {
  const now = Math.floor(services.now().getTime() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(crypto.randomUUID())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + services.config.ACCESS_TOKEN_TTL)
    .sign(await hmacKey(services.config.JWT_SECRET))
}

/**
 * Tokens whose signature and claims were checked, per secret: a client sends the same token on every request until
 * it expires, and checking it again is an HMAC per request. Only the expiry can change a verdict, so it is the only
 * thing checked again.
 */
const verified = new Map<string, Map<string, { userId: string; expiresAt: number }>>()
const VERIFIED_PER_SECRET = 5_000

/** The user id of a valid access token, or null (bad signature, `alg: none`, expired, wrong issuer or audience). */
export async function verifyAccessToken(services: Services, token: string): Promise<string | null> {
  const secret = services.config.JWT_SECRET
  const now = services.now()
  let known = verified.get(secret)
  const hit = known?.get(token)
  if (hit) return now.getTime() < hit.expiresAt ? hit.userId : null
  try {
    const { payload } = await jwtVerify(token, await hmacKey(secret), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'exp'],
    })
    if (!payload.sub || payload.exp === undefined) return null
    if (!known) verified.set(secret, (known = new Map()))
    if (known.size >= VERIFIED_PER_SECRET) known.delete(known.keys().next().value!)
    known.set(token, { userId: payload.sub, expiresAt: payload.exp * 1000 })
    return payload.sub
  } catch {
    return null
  }
}
