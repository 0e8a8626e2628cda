import { Hono } from 'hono'
import type { AppEnv } from '../types'

/** An interactive API reference over /openapi.json (Scalar, loaded by the browser). */
export const docsRouter = new Hono<AppEnv>().get('/docs', (c) =>
  c.html(`<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>EdgeChat API reference</title>
  </head>
  <body>
    <script id="api-reference" data-url="/openapi.json"></script>
    <script src="https://cdn.jsdelivr.net/npm/@scalar/api-reference"></script>
  </body>
</html>`),
)
