/**
 * The Cloudflare Worker bundle, built exactly as `npm run deploy` builds it (`wrangler deploy`, from wrangler.toml,
 * with --dry-run into a temp directory): within the 200 KB gzip budget, free of Node built-ins and of the AWS SDK,
 * and carrying only zod's English locale (wrangler.toml [alias] swaps zod's locales index for
 * scripts/zod-locales-en.js, zod's unused z.compile / z.fromJSONSchema for scripts/zod-unused-apis.js, zod's JSON
 * Schema generator for scripts/zod-json-schema.js, and drizzle's Postgres checks for scripts/drizzle-pg-stubs.js).
 * The bundle itself is then run under workerd (miniflare): what the aliases leave must still validate, and document
 * the API exactly as the app does on Node.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { Miniflare } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp } from '../helpers'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const WRANGLER = join(ROOT, 'node_modules', '.bin', 'wrangler')
const BUDGET_BYTES = 200 * 1000

let outdir: string
let code: string
let inputs: string[]
/** Minified bytes each bundled input contributes. */
let bytes: Map<string, number>

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'edgechat-worker-bundle-'))
  await promisify(execFile)(WRANGLER, ['deploy', '--dry-run', '--outdir', outdir, '--metafile', join(outdir, 'meta.json')], {
    cwd: ROOT,
    env: {
      ...process.env,
      // As vitest.workers.config.ts: wrangler's config and logs out of $HOME, no metrics, no network look-ups.
      XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME ?? join(ROOT, '.tmp', 'xdg'),
      WRANGLER_SEND_METRICS: 'false',
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
    },
    timeout: 55_000,
    maxBuffer: 16 * 1024 * 1024,
  })
  code = readFileSync(join(outdir, 'worker.js'), 'utf8')
  const meta = JSON.parse(readFileSync(join(outdir, 'meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs?: Record<string, { bytesInOutput: number }> }>
  }
  // What contributes bytes to worker.js (the metafile's `inputs` also lists modules tree-shaking removed), as paths
  // relative to the checkout: a node_modules reached through a symlink (a git worktree) reads the same.
  const bundled = Object.entries(meta.outputs).find(([file]) => file.endsWith('worker.js'))![1].inputs ?? {}
  bytes = new Map(
    Object.entries(bundled)
      .filter(([, input]) => input.bytesInOutput > 0)
      .map(([input, { bytesInOutput }]) => [input.replace(/^(?:\.\.\/)+[^/]+\/node_modules\//, 'node_modules/'), bytesInOutput]),
  )
  inputs = [...bytes.keys()]
}, 60_000)

afterAll(() => {
  if (outdir) rmSync(outdir, { recursive: true, force: true })
})

describe('Worker bundle (wrangler deploy --dry-run)', () => {
  it('is within the 200 KB gzip budget', () => {
    const gzipped = gzipSync(code, { level: 9 }).byteLength
    expect(gzipped).toBeLessThanOrEqual(BUDGET_BYTES)
  })

  it('imports no Node built-ins and bundles no AWS SDK', () => {
    expect(code).not.toMatch(/["'`]node:[\w/]+["'`]/)
    expect(inputs.filter((input) => /node_modules\/(@aws-sdk|@smithy)\//.test(input))).toEqual([])
    expect(code).not.toMatch(/@aws-sdk|@smithy/)
  })

  it("carries zod's English messages and no other locale", () => {
    expect(inputs.filter((input) => input.includes('zod/v4/locales/'))).toEqual(['node_modules/zod/v4/locales/en.js'])
    expect(code).toContain('Invalid input: expected') // en.js
    expect(code).not.toContain('Entrée invalide') // fr.js, fr-CA.js
    expect(code).not.toContain('Ungültige Eingabe') // de.js
  })

  it("leaves out zod's z.compile and z.fromJSONSchema", () => {
    expect(inputs.filter((input) => /zod\/v4\/(core\/compile|classic\/from-json-schema)\.js$/.test(input))).toEqual([])
    expect(code).not.toContain('does not support async refinements')
  })

  it("leaves out zod's JSON Schema generator, and every name zod imports from it is still exported", async () => {
    expect(inputs.filter((input) => /zod\/v4\/core\/(to-json-schema|json-schema-generator)\.js$/.test(input))).toEqual([])
    expect(code).not.toContain('Non-representable type encountered')
    // Only aggregateChecks is bundled from zod's processors module (a few KB, not its ~13 KB of processors).
    expect(bytes.get('node_modules/zod/v4/core/json-schema-processors.js')).toBeLessThan(3_000)
    // zod reads the processors through a namespace import, where esbuild would quietly bundle a missing name as undefined.
    const stub = Object.keys(await import(join(ROOT, 'scripts', 'zod-json-schema.js')))
    for (const module of ['json-schema-processors', 'to-json-schema', 'json-schema-generator']) {
      const real = Object.keys(await import(join(ROOT, 'node_modules/zod/v4/core', `${module}.js`)))
      expect(real.filter((name) => !stub.includes(name))).toEqual([])
    }
  })

  it('leaves the libsql client and drizzle\'s libsql driver out (a D1 deploy; wrangler.toml EDGECHAT_TURSO = "false")', () => {
    // What remains are the client modules' top-level statements (side effects esbuild must keep), a few hundred bytes.
    const libsql = inputs.filter((input) => input.startsWith('node_modules/@libsql/'))
    expect(libsql.filter((input) => input.includes('/hrana-client/lib-esm/http/'))).toEqual([])
    expect(libsql.reduce((sum, input) => sum + bytes.get(input)!, 0)).toBeLessThan(1_000)
    expect(inputs.filter((input) => input.startsWith('node_modules/drizzle-orm/libsql/'))).toEqual([])
  })

  it("leaves drizzle's Postgres modules out", () => {
    expect(inputs.filter((input) => input.includes('drizzle-orm/pg-core/'))).toEqual([])
  })

  it('runs under workerd: validates a request and serves the OpenAPI document', async () => {
    const mf = new Miniflare({
      modules: true,
      script: code,
      compatibilityDate: '2026-05-03',
      d1Databases: ['DB'],
      durableObjects: { GENERATIONS: { className: 'GenerationObject', useSQLite: true } },
      bindings: { NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(48), AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'unused-in-this-test' },
    })
    try {
      const health = await mf.dispatchFetch('http://edgechat.test/health')
      expect(health.status).toBe(200)
      const bad = await mf.dispatchFetch('http://edgechat.test/v1/auth/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'not an email', password: 1 }),
      })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { code: string }).code).toBe('validation_failed')
      const openapi = await mf.dispatchFetch('http://edgechat.test/openapi.json')
      expect(openapi.status).toBe(200)
      const served = (await openapi.json()) as { openapi: string }
      expect(served.openapi).toMatch(/^3\.1/)
      // The aliases change nothing the document says: it is the one the app serves on Node, with every zod module.
      const node = await createTestApp()
      try {
        expect(served).toEqual(await (await node.app.request('/openapi.json')).json())
      } finally {
        node.close()
      }
    } finally {
      await mf.dispose()
    }
  }, 60_000)

  it('without a D1 binding, a libsql:// DATABASE_URL is a configuration error naming EDGECHAT_TURSO', async () => {
    const mf = new Miniflare({
      modules: true,
      script: code,
      compatibilityDate: '2026-05-03',
      durableObjects: { GENERATIONS: { className: 'GenerationObject', useSQLite: true } },
      bindings: {
        NODE_ENV: 'test',
        JWT_SECRET: 'x'.repeat(48),
        DATABASE_URL: 'libsql://edgechat-test.turso.example',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'unused-in-this-test',
      },
    })
    try {
      const res = await mf.dispatchFetch('http://edgechat.test/health')
      expect(res.status).toBe(500)
      const problem = (await res.json()) as { detail: string }
      expect(problem.detail).toContain('DATABASE_URL')
      expect(problem.detail).toContain('EDGECHAT_TURSO')
    } finally {
      await mf.dispose()
    }
  }, 60_000)
})
