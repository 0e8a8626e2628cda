import { AppError } from '../errors'
import { findRefreshTokenByHash, insertRefreshTokenGuarded, markRotated, revokeFamily, type RefreshTokenRow } from '../db/repositories/refresh-tokens'
import {
  createUserWithWorkspace,
  endAllSessions,
  findSessionGeneration,
  findUserByEmail,
  findUserById,
  upgradePasswordHash,
} from '../db/repositories/users'
import { normalizeEmail } from '../lib/email'
import { DUMMY_PASSWORD_HASH, hashPassword, passwordNeedsRehash, randomSecret, sha256Hex, verifyPassword } from '../lib/crypto'
import { toBase64Url } from '../lib/encoding'
import type { Services } from '../types'
import { rememberSessionGeneration, signAccessToken } from './access-tokens'

export interface TokenPair {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  expiresIn: number
}

const refreshInvalid = () => new AppError('unauthorized', 'Invalid or expired refresh token')

/**
 * The token that replaces a refresh token at rotation: HMAC-SHA256 of the old token under a key derived from
 * JWT_SECRET (labelled, so it is never the JWT signing key itself). Deriving it instead of drawing it at random lets
 * a rotated token presented again within the grace window get the very same successor back while the database
 * keeps only SHA-256 hashes, as for every refresh token. It is as unguessable as a random token to anyone without
 * the server secret, and whoever holds the old token could obtain the successor within the window anyway.
 */
async function successorOf(services: Services, refreshToken: string): Promise<string> {
  const secret = services.config.JWT_SECRET
  const cache = services.accessTokens
  if (cache.successorKey?.secret !== secret) {
    const key = (async () => {
      const hmac = (raw: Uint8Array<ArrayBuffer>) => crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
      const label = new TextEncoder().encode('edgechat refresh-token successor v1')
      const derived = await crypto.subtle.sign('HMAC', await hmac(new TextEncoder().encode(secret)), label)
      return hmac(new Uint8Array(derived))
    })()
    cache.successorKey = { secret, key }
  }
  const mac = await crypto.subtle.sign('HMAC', await cache.successorKey.key, new TextEncoder().encode(refreshToken))
  return `rt_${toBase64Url(new Uint8Array(mac))}`
}

/** The access token that goes with a stored refresh token: signed from the row, so signing it again gives the same token. */
function pairFor(services: Services, row: RefreshTokenRow, refreshToken: string, generation: number): Promise<TokenPair> {
  return signAccessToken(services, row.userId, { generation, jti: row.id, issuedAt: row.createdAt }).then((accessToken) => ({
    accessToken,
    refreshToken,
    tokenType: 'Bearer' as const,
    expiresIn: services.config.ACCESS_TOKEN_TTL,
  }))
}

/**
 * Stores a refresh token and signs the pair. The user's session generation is read before the insert, and the insert
 * only happens while it is unchanged (and, for a rotation, while the parent is unrevoked): a logout-all that commits
 * in between leaves either no token or an access token of the old generation, which no longer verifies.
 */
async function issuePair(
  services: Services,
  input: { userId: string; familyId: string; refreshToken: string; parentId?: string },
): Promise<TokenPair> {
  const generation = await findSessionGeneration(services.db, input.userId)
  if (generation === null) throw refreshInvalid()
  const now = services.now()
  const row = await insertRefreshTokenGuarded(
    services.db,
    {
      id: services.newId('rt'),
      userId: input.userId,
      familyId: input.familyId,
      tokenHash: await sha256Hex(input.refreshToken),
      expiresAt: new Date(now.getTime() + services.config.REFRESH_TOKEN_TTL * 1000),
      createdAt: now,
    },
    { generation, ...(input.parentId ? { parentId: input.parentId } : {}) },
  )
  if (!row) throw refreshInvalid()
  return pairFor(services, row, input.refreshToken, generation)
}

function newSession(services: Services, userId: string): Promise<TokenPair> {
  return issuePair(services, { userId, familyId: services.newId('fam'), refreshToken: `rt_${randomSecret(32)}` })
}

export async function register(services: Services, input: { email: string; password: string; name?: string | undefined }) {
  if (!services.config.ALLOW_REGISTRATION) throw new AppError('registration_closed', 'Registration is disabled on this server')
  const email = normalizeEmail(input.email)
  // The raw input also finds a row stored before addresses were normalized, in the form it was typed.
  if (await findUserByEmail(services.db, input.email)) throw new AppError('conflict', 'An account with this email already exists')
  const passwordHash = await hashPassword(input.password)
  let created
  try {
    created = await createUserWithWorkspace(services.db, {
      userId: services.newId('usr'),
      workspaceId: services.newId('ws'),
      email,
      name: input.name ?? null,
      passwordHash,
      now: services.now(),
    })
  } catch (error) {
    // Two registrations raced on the same email: the unique index decided.
    if (await findUserByEmail(services.db, input.email)) throw new AppError('conflict', 'An account with this email already exists')
    throw error
  }
  return { ...created, tokens: await newSession(services, created.user.id) }
}

export async function login(services: Services, input: { email: string; password: string }): Promise<TokenPair> {
  normalizeEmail(input.email)
  const user = await findUserByEmail(services.db, input.email)
  const stored = user?.passwordHash ?? DUMMY_PASSWORD_HASH
  const ok = await verifyPassword(input.password, stored)
  if (!user || !user.passwordHash || !ok) throw new AppError('unauthorized', 'Invalid email or password')
  if (passwordNeedsRehash(user.passwordHash)) {
    await upgradePasswordHash(services.db, user.id, user.passwordHash, await hashPassword(input.password), services.now())
  }
  return newSession(services, user.id)
}

/**
 * Rotates a refresh token. A rotated token presented again within REFRESH_REUSE_GRACE_SECONDS of its rotation (tabs
 * or retries racing) gets the same successor pair; later, it is a reuse and revokes the whole family.
 */
export async function refresh(services: Services, refreshToken: string): Promise<TokenPair> {
  const row = await findRefreshTokenByHash(services.db, await sha256Hex(refreshToken))
  const now = services.now()
  if (!row || row.revokedAt || row.expiresAt <= now) throw refreshInvalid()
  const successor = await successorOf(services, refreshToken)
  const next = { userId: row.userId, familyId: row.familyId, refreshToken: successor, parentId: row.id }
  if (!row.rotatedAt && (await markRotated(services.db, row.id, now))) return issuePair(services, next)

  // Someone rotated it first: read when, from the row as it is now.
  const current = await findRefreshTokenByHash(services.db, row.tokenHash)
  if (!current || current.revokedAt || !current.rotatedAt) throw refreshInvalid()
  const elapsed = now.getTime() - current.rotatedAt.getTime()
  if (elapsed >= 0 && elapsed < services.config.REFRESH_REUSE_GRACE_SECONDS * 1000) return issuePair(services, next)
  await revokeFamily(services.db, row.familyId, now)
  services.logger.warn('refresh token reuse: family revoked', { userId: row.userId, familyId: row.familyId })
  throw refreshInvalid()
}

export async function logout(services: Services, refreshToken: string): Promise<void> {
  const row = await findRefreshTokenByHash(services.db, await sha256Hex(refreshToken))
  if (row) await revokeFamily(services.db, row.familyId, services.now())
}

/** Ends every session of the user: all refresh tokens are revoked and every access token issued so far stops verifying. */
export async function logoutAll(services: Services, userId: string): Promise<void> {
  const generation = await endAllSessions(services.db, userId, services.now())
  rememberSessionGeneration(services, userId, generation)
}

/**
 * Changes the password after checking the current one, and ends every session of the user, the caller's included:
 * the caller signs in again with the new password.
 */
export async function changePassword(services: Services, userId: string, input: { currentPassword: string; newPassword: string }): Promise<void> {
  const user = await findUserById(services.db, userId)
  const ok = await verifyPassword(input.currentPassword, user?.passwordHash ?? DUMMY_PASSWORD_HASH)
  if (!user || !user.passwordHash || !ok) {
    throw new AppError('validation_failed', 'The current password is not correct', {
      errors: [{ path: 'currentPassword', message: 'is not correct' }],
    })
  }
  const generation = await endAllSessions(services.db, userId, services.now(), await hashPassword(input.newPassword))
  rememberSessionGeneration(services, userId, generation)
}
