import { AppError } from '../errors'

const MAX_LOCAL = 64
const MAX_ADDRESS = 254
/** Characters that would make the URL parser read the domain as something else (a path, a port, credentials). */
const NOT_IN_DOMAIN = /[\s/\\?#@:[\]%]/
const ASCII_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * The form an address is stored and compared in, or null when it is not a usable address: NFKC on the whole address
 * (`ａlice` is `alice`), lower case, and the domain in ASCII through the URL parser's IDNA (`bücher.de` is
 * `xn--bcher-kva.de`; a fullwidth `。` separates labels). A trailing dot, an empty label, a numeric top-level label
 * (the URL parser would read an IPv4 address) or a domain without a dot is refused.
 */
export function normalizeEmailOrNull(input: string): string | null {
  const email = input.trim().normalize('NFKC').toLowerCase().normalize('NFKC')
  const at = email.lastIndexOf('@')
  if (at <= 0 || at > MAX_LOCAL) return null
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  if (!domain || domain.endsWith('.') || NOT_IN_DOMAIN.test(domain)) return null
  let ascii: string
  try {
    ascii = new URL(`http://${domain}`).hostname
  } catch {
    return null
  }
  const labels = ascii.split('.')
  if (labels.length < 2 || !labels.every((label) => ASCII_LABEL.test(label)) || /^\d+$/.test(labels.at(-1)!)) return null
  const normalized = `${local}@${ascii}`
  return normalized.length <= MAX_ADDRESS ? normalized : null
}

/** normalizeEmailOrNull for request input: a 400 `validation_failed` naming `field` when the address is not usable. */
export function normalizeEmail(input: string, field = 'email'): string {
  const email = normalizeEmailOrNull(input)
  if (email === null) {
    throw new AppError('validation_failed', `Invalid ${field}`, { errors: [{ path: field, message: 'Invalid email address' }] })
  }
  return email
}
