import { SignJWT, jwtVerify } from 'jose'
import { findSessionGeneration } from '../db/repositories/users'
import type { Services } from '../types'

export const TOKEN_ISSUER = 'edgechat'
export const TOKEN_AUDIENCE = 'edgechat-api'

/**
 * What a process remembers about access tokens, held by its Services (one per app or Durable Object instance):
 * - the HMAC key, imported once (jose would otherwise import it again on every request);
 * - each user's session generation, read at most once per GENERATION_TTL_MS (see currentSessionGeneration);
 * - tokens whose signature and claims were checked: a client sends the same token on every request until it expires,
 *   and checking it again is an HMAC per request. Only the expiry and the user's session generation can change a
 *   verdict, so they are what is checked again.
 */
export interface AccessTokenCache {
  key: { secret: string; key: Promise<CryptoKey> } | null
  /** The key refresh-token successors are derived with (sessions.ts: successorOf). */
  successorKey: { secret: string; key: Promise<CryptoKey> } | null
  generations: Map<string, { generation: number | null; readAt: number }>
  verified: Map<string, { userId: string; expiresAt: number; generation: number }>
}

export function createAccessTokenCache(): AccessTokenCache {
  return { key: null, successorKey: null, generations: new Map(), verified: new Map() }
}

function hmacKey(services: Services): Promise<CryptoKey> {
  const secret = services.config.JWT_SECRET
  const cache = services.accessTokens
  if (cache.key?.secret !== secret) {
    const key = crypto.subtle.importKey('raw', new TextEncoder().encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify'])
    cache.key = { secret, key }
  }
  return cache.key.key
}

/** The claim holding the session generation a token was issued under (see verifiedAccessToken). */
const GENERATION_CLAIM = 'sgen'

/**
 * Signs an access token under the user's session generation. `jti` and `issuedAt` make it reproducible: the refresh
 * grace window signs the pair it already returned again, byte for byte (HS256 is deterministic).
 */
export async function signAccessToken(
  services: Services,
  userId: string,
  session: { generation: number; jti?: string; issuedAt?: Date },
): Promise<string> {
  const now = Math.floor((session.issuedAt ?? services.now()).getTime() / 1000)
  return new SignJWT({ [GENERATION_CLAIM]: session.generation })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(session.jti ?? crypto.randomUUID())
    .setIssuer(TOKEN_ISSUER)
    .setAudience(TOKEN_AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + services.config.ACCESS_TOKEN_TTL)
    .sign(await hmacKey(services))
}

/**
 * Each user's session generation is read at most once per GENERATION_TTL_MS by a set of services: checking
 * revocation on every request costs one query per user every few seconds. A logout-all or password change updates
 * its own services' entry at once (rememberSessionGeneration); other processes and isolates see it within
 * GENERATION_TTL_MS.
 */
export const GENERATION_TTL_MS = 5_000
const GENERATIONS_KEPT = 10_000

const generationCache = (services: Services) => services.accessTokens.generations

export function rememberSessionGeneration(services: Services, userId: string, generation: number | null): void {
  const cache = generationCache(services)
  cache.delete(userId)
  if (cache.size >= GENERATIONS_KEPT) cache.delete(cache.keys().next().value!)
  cache.set(userId, { generation, readAt: services.now().getTime() })
}

/** The user's session generation (null: no such user), through the per-process cache. */
export async function currentSessionGeneration(services: Services, userId: string): Promise<number | null> {
  const hit = generationCache(services).get(userId)
  const now = services.now().getTime()
  if (hit && now >= hit.readAt && now - hit.readAt < GENERATION_TTL_MS) return hit.generation
  const generation = await findSessionGeneration(services.db, userId)
  rememberSessionGeneration(services, userId, generation)
  return generation
}

const VERIFIED_KEPT = 5_000

/**
 * The user id of a valid access token, or null: bad signature, `alg: none`, expired, wrong issuer or audience, no
 * such user, or issued under an older session generation than the user's (a logout-all or password change ended it).
 */
export async function verifyAccessToken(services: Services, token: string): Promise<string | null> {
  return (await verifiedAccessToken(services, token))?.userId ?? null
}

/** A valid access token's user id and expiry (ms since the epoch), or null (see verifyAccessToken). */
export async function verifiedAccessToken(services: Services, token: string): Promise<{ userId: string; expiresAt: number } | null> {
  const claims = await signedClaims(services, token)
  if (!claims) return null
  const current = await currentSessionGeneration(services, claims.userId)
  return current !== null && claims.generation >= current ? { userId: claims.userId, expiresAt: claims.expiresAt } : null
}

/** The claims of an unexpired token with a valid signature; a token without the generation claim is generation 0. */
async function signedClaims(services: Services, token: string): Promise<{ userId: string; expiresAt: number; generation: number } | null> {
  const now = services.now()
  const known = services.accessTokens.verified
  const hit = known.get(token)
  if (hit) return now.getTime() < hit.expiresAt ? hit : null
  try {
    const { payload } = await jwtVerify(token, await hmacKey(services), {
      algorithms: ['HS256'],
      issuer: TOKEN_ISSUER,
      audience: TOKEN_AUDIENCE,
      currentDate: now,
      requiredClaims: ['sub', 'exp'],
    })
    if (!payload.sub || payload.exp === undefined) return null
    const generation = payload[GENERATION_CLAIM] ?? 0
    if (typeof generation !== 'number' || !Number.isSafeInteger(generation)) return null
    const claims = { userId: payload.sub, expiresAt: payload.exp * 1000, generation }
    if (known.size >= VERIFIED_KEPT) known.delete(known.keys().next().value!)
    known.set(token, claims)
    return claims
  } catch {
    return null
  }
}
