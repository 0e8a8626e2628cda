import { createMiddleware } from 'hono/factory'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../errors'
import type { AppEnv } from '../types'

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/** A body announced by its framing headers. Some servers hand every POST a (possibly empty) body stream. */
function announcesBody(request: Request): boolean {
  const length = request.headers.get('content-length')
  if (length !== null) return length.trim() !== '0'
  return request.headers.has('transfer-encoding')
}

/**
 * Request bodies are JSON (else 415) and bounded (else 413). `limitFor` picks the limit per path,
 * so turn routes can accept inline images and documents.
 */
export function jsonBody(limitFor: (path: string) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!BODY_METHODS.has(c.req.method) || c.req.raw.body === null) return next()
    const type = c.req.header('content-type') ?? ''
    if ((type || announcesBody(c.req.raw)) && !JSON_TYPE.test(type)) {
      throw new AppError('unsupported_media_type', `Expected Content-Type: application/json, got ${type ? `"${type.slice(0, 100)}"` : 'none'}`)
    }
    const maxSize = limitFor(c.req.path)
    return bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError('payload_too_large', `Request body exceeds ${maxSize} bytes`)
      },
    })(c, next)
  })
}
