import { Hono } from 'hono'
import type { AppEnv } from '../types'

const SCALAR_SCRIPT = 'https://cdn.jsdelivr.net/npm/@scalar/api-reference'

/**
 * What the page needs and nothing more: Scalar's script from the CDN (that one URL), the empty configuration
 * `<script>` element (allowed by the hash of empty content), the styles Scalar injects inline, its web fonts,
 * images it inlines as data: URLs, and requests to this server (/openapi.json and "try it").
 */
const DOCS_POLICY = [
  "default-src 'none'",
  `script-src ${SCALAR_SCRIPT} 'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='`,
  "style-src 'unsafe-inline'",
  'font-src https://fonts.scalar.com',
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

/** An interactive API reference over /openapi.json (Scalar, loaded by the browser). */
export const docsRouter = new Hono<AppEnv>().get('/docs', (c) =>
  c.html(
    `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>EdgeChat API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="${SCALAR_SCRIPT}"></script>
  </body>
</html>`,
    200,
    { 'Content-Security-Policy': DOCS_POLICY },
  ),
)
