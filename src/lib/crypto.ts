import { fromBase64Url, toBase64Url, toHex } from './encoding'

const encoder = new TextEncoder()

export async function sha256Hex(text: string): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text))))
}

/** A random secret string with `bytes` bytes of entropy, base64url-encoded. */
export function randomSecret(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)))
}

export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

/** Constant-time equality of two strings (their lengths are not hidden). */
export function timingSafeEqualText(a: string, b: string): boolean {
  return timingSafeEqual(encoder.encode(a), encoder.encode(b))
}

/**
 * Stored password hashes are `pbkdf2-sha256$<iterations>$<salt>$<hash>`: the scheme and its parameters travel with
 * each hash, so they can be raised later and old hashes upgraded at the next login (passwordNeedsRehash).
 * 100k iterations is the most the Workers runtime's PBKDF2 accepts.
 */
const PBKDF2_ITERATIONS = 100_000
/** The bounds a stored hash's parameters must be within: a corrupt or hostile row (10^9 iterations) is refused at once. */
const MAX_ITERATIONS = PBKDF2_ITERATIONS
const MAX_SALT_BYTES = 64
const HASH_BYTES = 32

interface StoredHash {
  iterations: number
  salt: Uint8Array<ArrayBuffer>
  hash: Uint8Array
}

function parseStoredHash(stored: string): StoredHash | null {
  const [scheme, iterations, salt, hash, ...rest] = stored.split('$')
  if (scheme !== 'pbkdf2-sha256' || !iterations || !salt || !hash || rest.length > 0) return null
  if (!/^[1-9]\d{0,6}$/.test(iterations) || Number(iterations) > MAX_ITERATIONS) return null
  try {
    const parsed = { iterations: Number(iterations), salt: fromBase64Url(salt), hash: fromBase64Url(hash) }
    return parsed.salt.length > 0 && parsed.salt.length <= MAX_SALT_BYTES && parsed.hash.length === HASH_BYTES ? parsed : null
  } catch {
    return null
  }
}

async function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', encoder.encode(password), 'PBKDF2', false, ['deriveBits'])
  const bits = await crypto.subtle.deriveBits({ name: 'PBKDF2', hash: 'SHA-256', salt, iterations }, key, HASH_BYTES * 8)
  return new Uint8Array(bits)
}

/** `pbkdf2-sha256$<iterations>$<salt>$<hash>` with a random 16-byte salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const hash = await pbkdf2(password, salt, PBKDF2_ITERATIONS)
  return `pbkdf2-sha256$${PBKDF2_ITERATIONS}$${toBase64Url(salt)}$${toBase64Url(hash)}`
}

/** False for a wrong password and for a stored hash that is malformed or outside the accepted parameters. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parseStoredHash(stored)
  if (!parsed) return false
  return timingSafeEqual(await pbkdf2(password, parsed.salt, parsed.iterations), parsed.hash)
}

/** Whether a hash that just verified was made with weaker parameters than hashPassword uses today. */
export function passwordNeedsRehash(stored: string): boolean {
  const parsed = parseStoredHash(stored)
  return !parsed || parsed.iterations < PBKDF2_ITERATIONS || parsed.salt.length < 16
}

/** A hash of a password nobody has, so an unknown email costs the same time as a wrong password. */
export const DUMMY_PASSWORD_HASH = 'pbkdf2-sha256$100000$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
