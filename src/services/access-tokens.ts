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

/** The user id of a valid access token, or null (bad signature, `alg: none`, expired, wrong issuer or audience). */
export async function verifyAccessToken(services: Services, token: string): Promise<string | null> {
  try {
    const { payload } = await jwtVerify(token, await hmacKey(services.config.JWT_SECRET), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      currentDate: services.now(),
      requiredClaims: ['sub', 'exp'],
    })
    return payload.sub ?? null
  } catch {
    return null
  }
}
