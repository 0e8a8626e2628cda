/**
 * Workers: the playground, the API reference and their files come from Workers static assets (wrangler.toml
 * `[assets]`, binding ASSETS, every request through the Worker first), not from the Worker's code, with the same
 * headers as on Node and Bun.
 */
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import { call, expectProblem } from './helpers'

describe('workers: pages from static assets', () => {
  it('has the ASSETS binding', () => {
    expect(typeof (env as { ASSETS?: Fetcher }).ASSETS?.fetch).toBe('function')
  })

  it('serves / with the playground policy, and its files', async () => {
    const page = await call('GET', '/')
    expect(page.status, page.text).toBe(200)
    expect(page.headers.get('content-type')).toMatch(/^text\/html/)
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(page.headers.get('content-security-policy')).toContain("require-trusted-types-for 'script'")
    expect(page.headers.get('x-content-type-options')).toBe('nosniff')
    expect(page.text).toContain('<script type="module" src="/assets/playground.js"></script>')
    for (const path of ['/assets/playground.js', '/assets/api.js', '/assets/sse.js', '/assets/playground.css']) {
      const file = await call('GET', path)
      expect(file.status, path).toBe(200)
      expect(file.headers.get('cache-control'), path).toBe('no-cache')
    }
    expect((await call('GET', '/assets/playground.js')).headers.get('content-type')).toMatch(/^(text|application)\/javascript/)
  })

  it('serves /docs and the pinned Scalar script from assets', async () => {
    const docs = await call('GET', '/docs')
    expect(docs.status, docs.text).toBe(200)
    expect(docs.headers.get('content-security-policy')).not.toMatch(/https?:/)
    expect(docs.text).toContain('src="/assets/vendor/scalar-api-reference.js"')
    const scalar = await call('GET', '/assets/vendor/scalar-api-reference.js')
    expect(scalar.status).toBe(200)
    expect(scalar.text).toContain('createApiReference')
    expect(scalar.text.length).toBeGreaterThan(1_000_000)
  })

  it('answers 404 problems for what is not a served asset', async () => {
    for (const path of ['/index.html', '/docs.html', '/assets/nope.js', '/assets/%2e%2e/index.html', '/assets/.hidden']) {
      expectProblem(await call('GET', path), 404, 'not_found')
    }
  })
})
