/**
 * The playground (/), the API reference (/docs) and their files (/assets/…), served from the entry's static assets:
 * here the repository's public/ directory, as the Node and Bun entries serve it (Workers: test/workers/pages.test.ts;
 * in a browser: test/browser/).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { directoryAssets, PUBLIC_DIRECTORY } from '../../src/entries/assets-directory'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
let bare: TestApp
beforeAll(async () => {
  t = await createTestApp({}, { assets: directoryAssets() })
  bare = await createTestApp()
})
afterAll(() => {
  t.close()
  bare.close()
})

type Directives = Record<string, string[]>
function directives(res: Response): Directives {
  const policy = res.headers.get('content-security-policy')
  expect(policy).toBeTruthy()
  return Object.fromEntries(policy!.split(';').map((part) => part.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]))
}

/** Every script, stylesheet and icon a page loads: all same-origin paths under /assets/. */
function subresources(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
}

describe('GET /', () => {
  it('serves the playground page with a strict policy: own scripts only, no inline script, Trusted Types, no framing', async () => {
    const res = await t.request('GET', '/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    const csp = directives(res)
    expect(csp['default-src']).toEqual(["'none'"])
    expect(csp['script-src']).toEqual(["'self'"])
    expect(csp['style-src']).toEqual(["'self'"])
    expect(csp['connect-src']).toEqual(["'self'"])
    expect(csp['frame-ancestors']).toEqual(["'none'"])
    expect(csp['require-trusted-types-for']).toEqual(["'script'"])
    expect(csp['trusted-types']).toEqual(["'none'"])
    const html = await res.text()
    expect(html).toBe(readFileSync(join(PUBLIC_DIRECTORY, 'index.html'), 'utf8'))
    // No inline script or style, no event handler attributes, nothing from another origin.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\son[a-z]+=|style="/i)
    const loaded = subresources(html)
    expect(loaded).toEqual(expect.arrayContaining(['/assets/playground.js', '/assets/playground.css']))
    for (const path of loaded) {
      expect(path).toMatch(/^\/assets\//)
      expect((await t.request('GET', path)).status, path).toBe(200)
    }
  })

  it('names its controls as API.md lists them', async () => {
    const html = await (await t.request('GET', '/')).text()
    const labels = [...html.matchAll(/<label for="[^"]+">([^<]+)<\/label>/g)].map((match) => match[1])
    expect(labels).toEqual(expect.arrayContaining(['Email', 'Password', 'Message']))
    const buttons = [...html.matchAll(/<button\b[^>]*>([^<]+)<\/button>/g)].map((match) => match[1]!.trim())
    expect(buttons).toEqual(expect.arrayContaining(['Log in', 'Register', 'Send', 'Stop', 'New chat']))
  })
})

describe('GET /docs', () => {
  it('serves the API reference with Scalar from this server (the pinned package), never a CDN', async () => {
    const res = await t.request('GET', '/docs')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    const csp = directives(res)
    expect(csp['default-src']).toEqual(["'none'"])
    expect(csp['script-src']).toEqual(["'self'"])
    expect(csp['connect-src']).toEqual(["'self'"])
    expect(res.headers.get('content-security-policy')).not.toMatch(/https?:|unsafe-eval|script-src[^;]*'unsafe-inline'/)
    const html = await res.text()
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    const scripts = [...html.matchAll(/<script\b[^>]*\bsrc="([^"]+)"/g)].map((match) => match[1]!)
    expect(scripts).toEqual(['/assets/vendor/scalar-api-reference.js', '/assets/docs.js'])
    const scalar = await t.request('GET', scripts[0]!)
    expect(scalar.status).toBe(200)
    expect(scalar.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    const installed = readFileSync(join(import.meta.dirname, '../../node_modules/@scalar/api-reference/dist/browser/standalone.js'))
    expect(Buffer.from(await scalar.arrayBuffer()).equals(installed), 'public/assets/vendor/ is stale: run npm ci (or node scripts/vendor-assets.mjs)').toBe(true)
    const pinned = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')).dependencies['@scalar/api-reference']
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/)
    expect(installed.toString('utf8', 0, 20_000)).not.toContain('cdn.jsdelivr.net')
    const configuration = await (await t.request('GET', scripts[1]!)).text()
    expect(configuration).toContain("url: '/openapi.json'")
    expect(configuration).toContain('withDefaultFonts: false')
  })
})

describe('GET /assets/*', () => {
  it('serves the files with their content types and no-cache', async () => {
    for (const [path, type] of [
      ['/assets/playground.js', 'text/javascript; charset=utf-8'],
      ['/assets/api.js', 'text/javascript; charset=utf-8'],
      ['/assets/sse.js', 'text/javascript; charset=utf-8'],
      ['/assets/playground.css', 'text/css; charset=utf-8'],
      ['/assets/icon.svg', 'image/svg+xml'],
    ] as const) {
      const res = await t.request('GET', path)
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-type'), path).toBe(type)
      expect(res.headers.get('cache-control'), path).toBe('no-cache')
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'")
    }
  })

  it('answers a 404 problem for missing files and anything outside public/assets/', async () => {
    for (const path of [
      '/assets/nope.js',
      '/assets/',
      '/assets/%2e%2e/index.html',
      '/assets/..%2f..%2fpackage.json',
      '/assets/vendor/%2e%2e/%2e%2e/%2e%2e/package.json',
      '/assets/.hidden.js',
      '/assets/PLAYGROUND.JS',
      '/assets/playground.js%00.css',
      '/index.html',
      '/docs.html',
      '/package.json',
    ]) {
      await expectProblem(await t.request('GET', path), 404, 'not_found')
    }
  })

  it('the directory store itself refuses paths that leave its directory or have no known type', async () => {
    const assets = directoryAssets()
    expect(await assets.get('/../package.json')).toBeNull()
    expect(await assets.get('/../../etc/passwd')).toBeNull()
    expect(await assets.get('/assets/../../src/app.ts')).toBeNull()
    expect(await assets.get('/assets')).toBeNull()
    expect((await assets.get('/index.html'))?.status).toBe(200)
  })
})

describe('without static assets', () => {
  it('/, /docs and /assets/* are 404 problems, not errors', async () => {
    for (const path of ['/', '/docs', '/assets/playground.js']) await expectProblem(await bare.request('GET', path), 404, 'not_found')
  })
})
