import { deleteApiKey, insertApiKey, listApiKeys, type ApiKeyRow } from '../db/repositories/api-keys'
import { scopes as allScopes, type Scope } from '../db/schema'
import { AppError, notFound } from '../errors'
import { randomSecret, sha256Hex } from '../lib/crypto'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'

const PREFIX_LENGTH = 11

/** A stored scope list, kept to the scopes this server knows (in their canonical order). */
export function knownScopes(stored: unknown): Scope[] {
  return Array.isArray(stored) ? allScopes.filter((scope) => stored.includes(scope)) : []
}

/**
 * Keys are minted by a user's own token only (the route refuses API keys), so a key never outlives or
 * outreaches the credential that made it.
 */
export async function createApiKey(
  services: Services,
  auth: AuthContext,
  input: { name: string; workspaceId?: string; expiresAt?: string; scopes?: readonly Scope[] },
): Promise<{ row: ApiKeyRow; key: string }> {
  if (input.workspaceId) await workspaceAccess(services, auth, input.workspaceId)
  const now = services.now()
  const expiresAt = input.expiresAt ? new Date(input.expiresAt) : null
  if (expiresAt && expiresAt <= now) {
    throw new AppError('validation_failed', 'expiresAt: must be in the future', { errors: [{ path: 'expiresAt', message: 'Must be in the future' }] })
  }
  const key = `sk_${randomSecret(32)}`
  const row: ApiKeyRow = {
    id: services.newId('key'),
    userId: auth.userId,
    workspaceId: input.workspaceId ?? null,
    name: input.name,
    prefix: key.slice(0, PREFIX_LENGTH),
    keyHash: await sha256Hex(key),
    scopes: knownScopes(input.scopes ?? allScopes),
    expiresAt,
    lastUsedAt: null,
    createdAt: now,
  }
  await insertApiKey(services.db, row)
  return { row, key }
}

export function listUserApiKeys(services: Services, auth: AuthContext, page: { after: string | null; limit: number }) {
  return listApiKeys(services.db, auth.userId, page)
}

export async function revokeApiKey(services: Services, auth: AuthContext, id: string): Promise<void> {
  if (!(await deleteApiKey(services.db, auth.userId, id))) throw notFound('API key')
}
