import { createMiddleware } from 'hono/factory'
import { bodyLimit } from 'hono/body-limit'
import { AppError } from '../errors'
import type { AppEnv } from '../types'

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH'])
const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i

/**
 * Request bodies are JSON (else 415) and bounded (else 413). `limitFor` picks the limit per path,
 * so turn routes can accept inline images and documents.
 *
 * A body framed by Content-Length is judged by its headers alone (the server enforces the framing), so the
 * body stream is never touched here: on Node that lets the validator read it straight from the socket.
 */
export function jsonBody(limitFor: (path: string) => number) {
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!BODY_METHODS.has(c.req.method)) return next()
    const type = c.req.header('content-type') ?? ''
    const length = c.req.header('content-length')
    const chunked = c.req.header('transfer-encoding') !== undefined
    // Some servers hand every POST a (possibly empty) body stream: only the framing headers announce a body.
    const announced = chunked || (length !== undefined && length.trim() !== '0')
    if (!type && !announced) return next()
    if (!JSON_TYPE.test(type)) {
      throw new AppError('unsupported_media_type', `Expected Content-Type: application/json, got ${type ? `"${type.slice(0, 100)}"` : 'none'}`)
    }
    const maxSize = limitFor(c.req.path)
    const tooLarge = () => {
      throw new AppError('payload_too_large', `Request body exceeds ${maxSize} bytes`)
    }
    if (length !== undefined && !chunked) return Number(length) > maxSize ? tooLarge() : next()
    return bodyLimit({ maxSize, onError: tooLarge })(c, next)
  })
}
