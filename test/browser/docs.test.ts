/**
 * The API reference at /docs in headless Chromium: Scalar from this server (the pinned npm package, copied into
 * public/assets/vendor/ at install) renders /openapi.json with every other origin blocked, as offline.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, NO_PROBLEMS, Watch } from './chromium'
import { startServer } from './server'

const ARTIFACTS = join(import.meta.dirname, '../../.tmp/browser')

let server: Awaited<ReturnType<typeof startServer>>
let browser: Browser

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  server = await startServer()
  browser = await launchChromium()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

describe('/docs in Chromium', { timeout: 90_000 }, () => {
  it('renders the reference from this server alone: no other origin, no console error', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    const watch = new Watch(server.origin)
    await watch.attach(context)
    const page = await context.newPage()
    const loaded: string[] = []
    page.on('response', (response) => loaded.push(`${response.status()} ${new URL(response.url()).pathname}`))
    await page.goto(`${server.origin}/docs`)
    await page.getByRole('heading', { name: 'EdgeChat API', exact: true }).waitFor()
    // An operation from the document is listed (the sidebar is built from /openapi.json).
    await page.getByText('Conversations', { exact: true }).first().waitFor()
    await page.screenshot({ path: join(ARTIFACTS, 'docs.png') })
    expect(loaded).toEqual(expect.arrayContaining(['200 /docs', '200 /assets/vendor/scalar-api-reference.js', '200 /assets/docs.js', '200 /openapi.json']))
    expect(watch.take()).toEqual(NO_PROBLEMS)
    await context.close()
  })
})
