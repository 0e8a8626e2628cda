import { decodeJwt, jwtVerify } from 'jose'
import { AppError } from '../errors'
import { findApiKeyByHash, touchApiKey } from '../db/repositories/api-keys'
import { scopes as allScopes } from '../db/schema'
import {
  createUserWithWorkspace,
  findUserByEmail,
  findUserByExternalSubject,
  linkExternalSubject,
} from '../db/repositories/users'
import { sha256Hex } from '../lib/crypto'
import { normalizeEmailOrNull } from '../lib/email'
import { knownScopes } from './api-keys'
import type { AuthContext, Services } from '../types'
import { verifyAccessToken } from './access-tokens'

const invalid = () => new AppError('unauthorized', 'Invalid or expired token', { headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } })
const LAST_USED_RESOLUTION_MS = 60_000

export async function authenticate(services: Services, token: string): Promise<AuthContext> {
  if (token.startsWith('sk_')) return authenticateApiKey(services, token)
  // Our own access tokens: the signature is checked once per process, the session generation through a short cache.
  const userId = (await verifyAccessToken(services, token)) ?? (await verifyOidcToken(services, token))
  if (!userId) throw invalid()
  return { userId, apiKeyId: null, workspaceScope: null, scopes: allScopes }
}

async function authenticateApiKey(services: Services, key: string): Promise<AuthContext> {
  const row = await findApiKeyByHash(services.db, await sha256Hex(key))
  const now = services.now()
  if (!row || (row.expiresAt && row.expiresAt <= now)) throw invalid()
  if (!row.lastUsedAt || now.getTime() - row.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    await touchApiKey(services.db, row.id, now)
  }
  return { userId: row.userId, apiKeyId: row.id, workspaceScope: row.workspaceId, scopes: knownScopes(row.scopes) }
}

/**
 * Tokens from the configured external issuer (e.g. Cognito), verified against its JWKS with issuer and
 * audience checked. The first sign-in provisions a user (and personal workspace) from the `email` claim,
 * or links an existing user with that email when the issuer says the email is verified.
 */
async function verifyOidcToken(services: Services, token: string): Promise<string | null> {
  const { OIDC_ISSUER, OIDC_AUDIENCE } = services.config
  if (!OIDC_ISSUER || !services.oidcKeys) return null
  let issuer: string | undefined
  try {
    issuer = decodeJwt(token).iss
  } catch {
    return null
  }
  if (issuer !== OIDC_ISSUER) return null
  let claims: Record<string, unknown>
  try {
    const verified = await jwtVerify(token, services.oidcKeys, {
      issuer: OIDC_ISSUER,
      audience: OIDC_AUDIENCE,
      currentDate: services.now(),
      requiredClaims: ['sub', 'exp'],
    })
    claims = verified.payload
  } catch {
    return null
  }
  const subject = `${OIDC_ISSUER}|${String(claims.sub)}`
  const known = await findUserByExternalSubject(services.db, subject)
  if (known) return known.id
  const email = typeof claims.email === 'string' ? normalizeEmailOrNull(claims.email) : null
  if (!email) return null
  const now = services.now()
  const existing = await findUserByEmail(services.db, email)
  if (existing) {
    if (claims.email_verified !== true || existing.externalSubject) return null
    await linkExternalSubject(services.db, existing.id, subject, now)
    return existing.id
  }
  const { user } = await createUserWithWorkspace(services.db, {
    userId: services.newId('usr'),
    workspaceId: services.newId('ws'),
    email,
    name: typeof claims.name === 'string' ? claims.name : null,
    passwordHash: null,
    externalSubject: subject,
    now,
  })
  return user.id
}

/**
 * When a token `authenticate` accepted stops being valid, in ms since the epoch: a JWT's `exp` (access and OIDC tokens
 * both require one); null for an API key, whose expiry and deletion `authenticate` looks up on every call.
 */
export function credentialExpiry(token: string): number | null {
  if (token.startsWith('sk_')) return null
  try {
    const { exp } = decodeJwt(token)
    return typeof exp === 'number' ? exp * 1000 : null
  } catch {
    return null
  }
}
