import { AppError } from '../errors'
import { findRefreshTokenByHash, insertRefreshToken, markRotated, revokeFamily } from '../db/repositories/refresh-tokens'
import { createUserWithWorkspace, findUserByEmail } from '../db/repositories/users'
import { DUMMY_PASSWORD_HASH, hashPassword, randomSecret, sha256Hex, verifyPassword } from '../lib/crypto'
import type { Services } from '../types'
import { signAccessToken } from './access-tokens'

export interface TokenPair {
  accessToken: string
  refreshToken: string
  tokenType: 'Bearer'
  expiresIn: number
}

const refreshInvalid = () => new AppError('unauthorized', 'Invalid or expired refresh token')

async function issueTokens(services: Services, userId: string, familyId: string = services.newId('fam')): Promise<TokenPair> {
  const refreshToken = `rt_${randomSecret(32)}`
  const now = services.now()
  await insertRefreshToken(services.db, {
    id: services.newId('rt'),
    userId,
    familyId,
    tokenHash: await sha256Hex(refreshToken),
    expiresAt: new Date(now.getTime() + services.config.REFRESH_TOKEN_TTL * 1000),
    createdAt: now,
  })
  return {
    accessToken: await signAccessToken(services, userId),
    refreshToken,
    tokenType: 'Bearer',
    expiresIn: services.config.ACCESS_TOKEN_TTL,
  }
}

export async function register(services: Services, input: { email: string; password: string; name?: string | undefined }) {
  if (!services.config.ALLOW_REGISTRATION) throw new AppError('registration_closed', 'Registration is disabled on this server')
  if (await findUserByEmail(services.db, input.email)) throw new AppError('conflict', 'An account with this email already exists')
  const passwordHash = await hashPassword(input.password)
  let created
  try {
    created = await createUserWithWorkspace(services.db, {
      userId: services.newId('usr'),
      workspaceId: services.newId('ws'),
      email: input.email,
      name: input.name?.trim() || null,
      passwordHash,
      now: services.now(),
    })
  } catch (error) {
    // Two registrations raced on the same email: the unique index decided.
    if (await findUserByEmail(services.db, input.email)) throw new AppError('conflict', 'An account with this email already exists')
    throw error
  }
  return { ...created, tokens: await issueTokens(services, created.user.id) }
}

export async function login(services: Services, input: { email: string; password: string }): Promise<TokenPair> {
  const user = await findUserByEmail(services.db, input.email)
  const ok = await verifyPassword(input.password, user?.passwordHash ?? DUMMY_PASSWORD_HASH)
  if (!user || !user.passwordHash || !ok) throw new AppError('unauthorized', 'Invalid email or password')
  return issueTokens(services, user.id)
}

/** Rotates a refresh token. Presenting an already-rotated token revokes its whole family. */
export async function refresh(services: Services, refreshToken: string): Promise<TokenPair> {
  const row = await findRefreshTokenByHash(services.db, await sha256Hex(refreshToken))
  const now = services.now()
  if (!row || row.revokedAt || row.expiresAt <= now) throw refreshInvalid()
  if (!(await markRotated(services.db, row.id, now))) {
    await revokeFamily(services.db, row.familyId, now)
    services.logger.warn('refresh token reuse: family revoked', { userId: row.userId, familyId: row.familyId })
    throw refreshInvalid()
  }
  return issueTokens(services, row.userId, row.familyId)
}

export async function logout(services: Services, refreshToken: string): Promise<void> {
  const row = await findRefreshTokenByHash(services.db, await sha256Hex(refreshToken))
  if (row) await revokeFamily(services.db, row.familyId, services.now())
}
