import { Hono, type Context } from 'hono'
import type { StaticAssets } from '../lib/static-assets'
import type { AppEnv } from '../types'

const COMMON = ["default-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'", "connect-src 'self'"]

/**
 * The playground: its own script and stylesheet, requests to this server, and Trusted Types enforced with no policy
 * allowed, so no string can ever reach innerHTML or another HTML sink (model text is only ever set as text).
 */
const PLAYGROUND_POLICY = [...COMMON, "script-src 'self'", "style-src 'self'", "img-src 'self'", "require-trusted-types-for 'script'", "trusted-types 'none'"].join('; ')

/** The API reference: Scalar's script from this server, the styles it injects inline, images it inlines as data: URLs. */
const DOCS_POLICY = [...COMMON, "script-src 'self'", "style-src 'self' 'unsafe-inline'", "img-src 'self' data:", "font-src 'self' data:"].join('; ')

/** Asset paths: lower-case segments that start with a letter or digit (no `..`, no hidden files). */
const ASSET_PATH = /^\/assets(?:\/[a-z0-9][a-z0-9._-]*)+$/

async function serve(c: Context<AppEnv>, assets: StaticAssets | undefined, path: string, policy?: string) {
  const file = await assets?.get(path)
  if (!file) return c.notFound()
  const headers: Record<string, string> = { 'Content-Type': file.headers.get('content-type') ?? 'application/octet-stream', 'Cache-Control': 'no-cache' }
  if (policy) headers['Content-Security-Policy'] = policy
  // c.body, not a new Response: headers the middleware set before the handler (X-Request-Id) apply to it too.
  return file.body ? c.body(file.body, 200, headers) : c.body(null, 200, headers)
}

/** The playground at `/`, the API reference at `/docs`, and their files under `/assets/`, from the entry's static assets. */
export function pagesRouter(assets: StaticAssets | undefined) {
  return new Hono<AppEnv>()
    .get('/', (c) => serve(c, assets, '/index.html', PLAYGROUND_POLICY))
    .get('/docs', (c) => serve(c, assets, '/docs.html', DOCS_POLICY))
    .get('/assets/*', (c) => (ASSET_PATH.test(c.req.path) ? serve(c, assets, c.req.path) : c.notFound()))
}
