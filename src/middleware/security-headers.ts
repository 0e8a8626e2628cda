import type { Context } from 'hono'
import { createMiddleware } from 'hono/factory'
import type { AppEnv } from '../types'

/** Responses that are not HTML load nothing and may not be framed. */
const NON_HTML_POLICY = "default-src 'none'; frame-ancestors 'none'"
/** An HTML page that does not state its own policy runs nothing from anywhere. */
const HTML_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
const HSTS = 'max-age=31536000'

/**
 * Whether the client reached us over HTTPS: an https URL (Workers, or a TLS listener), or `X-Forwarded-Proto: https`
 * from a proxy that terminated TLS. Believing the forwarded header is safe here: browsers ignore
 * Strict-Transport-Security received over plain HTTP, so a forged header cannot pin anything.
 */
function overHttps(c: Context<AppEnv>): boolean {
  if (c.req.url.startsWith('https:')) return true
  return c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https'
}

/**
 * Security headers on every response, errors and 404s included: X-Content-Type-Options, Referrer-Policy, a
 * Content-Security-Policy (a route serving HTML sets its own; others get a policy that allows nothing), and
 * Strict-Transport-Security when the request came over HTTPS. A WebSocket upgrade (101) is left as it is.
 */
export const securityHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await next()
  if (c.res.status === 101) return
  const headers: Record<string, string> = { 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' }
  if (!c.res.headers.has('Content-Security-Policy')) {
    const html = c.res.headers.get('content-type')?.toLowerCase().startsWith('text/html') ?? false
    headers['Content-Security-Policy'] = html ? HTML_POLICY : NON_HTML_POLICY
  }
  if (overHttps(c)) headers['Strict-Transport-Security'] = HSTS
  try {
    for (const [name, value] of Object.entries(headers)) c.res.headers.set(name, value)
  } catch {
    // A response whose headers are immutable (one passed through from fetch): copy it.
    const copy = new Response(c.res.body, c.res)
    for (const [name, value] of Object.entries(headers)) copy.headers.set(name, value)
    c.res = copy
  }
})
