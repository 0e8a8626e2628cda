import { fromBase64Url, toBase64Url } from '../lib/encoding'

/**
 * Secrets at rest (an MCP server's header values): AES-256-GCM with WebCrypto, a fresh 96-bit IV per value, stored as
 * `v1.<iv>.<ciphertext>` in base64url. The key is MCP_SECRETS_KEY (32 bytes, base64 or base64url) when set, else
 * derived from JWT_SECRET with HKDF-SHA256, so a deployment that sets neither cannot start anyway.
 */
export interface SecretBox {
  seal(plaintext: string): Promise<string>
  open(sealed: string): Promise<string>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()

async function importKey(keyMaterial: string | undefined, jwtSecret: string): Promise<CryptoKey> {
  if (keyMaterial) {
    const raw = fromBase64Url(keyMaterial.replace(/=+$/, ''))
    if (raw.length !== 32) throw new Error('MCP_SECRETS_KEY must be 32 bytes (base64)')
    return crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt'])
  }
  const base = await crypto.subtle.importKey('raw', encoder.encode(jwtSecret), 'HKDF', false, ['deriveKey'])
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: encoder.encode('edgechat'), info: encoder.encode('mcp-server-headers v1') },
    base,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  )
}

export function createSecretBox(keyMaterial: string | undefined, jwtSecret: string): SecretBox {
  let key: Promise<CryptoKey> | null = null
  const getKey = () => (key ??= importKey(keyMaterial, jwtSecret))
  return {
    async seal(plaintext) {
      const iv = crypto.getRandomValues(new Uint8Array(12))
      const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, await getKey(), encoder.encode(plaintext)))
      return `v1.${toBase64Url(iv)}.${toBase64Url(sealed)}`
    },
    async open(sealed) {
      const [version, iv, data] = sealed.split('.')
      if (version !== 'v1' || !iv || !data) throw new Error('not a sealed secret')
      return decoder.decode(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: fromBase64Url(iv) }, await getKey(), fromBase64Url(data)))
    },
  }
}
