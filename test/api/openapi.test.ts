/**
 * /openapi.json is the contract: it must be valid OpenAPI 3.1 (checked against the official schema by
 * @seriousme/openapi-schema-validator) and describe exactly the routes the app mounts.
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { App } from '../../src/app'
import { createTestApp, type TestApp } from '../helpers'

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const
/** Served by the app but not part of the documented API. */
const UNDOCUMENTED = new Set(['GET /openapi.json', 'GET /docs', 'GET /', 'GET /assets/*'])
/** Routes that need no credentials (API.md: everything under /v1 needs auth except these). */
const PUBLIC = /^\/v1\/auth\//
/** Routes that answer errors as OpenAI does (`{error: {message, type, param, code}}`), not as problem+json. */
const OPENAI_COMPATIBLE = /^\/v1\/(models|chat\/completions|responses)(\/|$)/

interface Operation {
  security?: unknown[]
  parameters?: { name: string; in: string; required?: boolean }[]
  requestBody?: unknown
  responses: Record<string, { content?: Record<string, unknown> }>
}
interface Document {
  openapi: string
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>
  components?: { securitySchemes?: Record<string, unknown> }
}

let t: TestApp
let app: App
let doc: Document

beforeAll(async () => {
  t = await createTestApp()
  app = t.app
  const res = await app.request('/openapi.json')
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  doc = (await res.json()) as Document
})

afterAll(() => t?.close())

/** Every documented operation as `METHOD /path`, with its operation object. */
function operations(): [string, Operation][] {
  return Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const operation = item[method]
      return operation ? [[`${method.toUpperCase()} ${path}`, operation] as [string, Operation]] : []
    }),
  )
}

/** The routes mounted on the app (Hono's app.routes), middleware excluded, `:id` written as `{id}`. */
function mountedRoutes(): Set<string> {
  return new Set(
    app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => `${route.method.toUpperCase()} ${route.path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, '{$1}')}`)
      .filter((route) => !UNDOCUMENTED.has(route)),
  )
}

describe('GET /openapi.json', () => {
  it('is a valid OpenAPI 3.1 document (official schema)', async () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    const validator = new Validator()
    const result = await validator.validate(doc as unknown as Record<string, unknown>)
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it('the validator does reject a broken document (guards against a validator that accepts anything)', async () => {
    const broken = structuredClone(doc) as unknown as { paths: Record<string, Record<string, { responses: unknown }>> }
    broken.paths['/v1/me']!.get!.responses = 'none'
    const result = await new Validator().validate(broken as unknown as Record<string, unknown>)
    expect(result.valid).toBe(false)
  })

  it('documents every mounted route, and nothing that is not mounted', () => {
    const mounted = mountedRoutes()
    const documented = new Set(operations().map(([route]) => route))
    expect(mounted.size).toBeGreaterThan(0)
    const undocumented = [...mounted].filter((route) => !documented.has(route))
    const notMounted = [...documented].filter((route) => !mounted.has(route))
    expect(undocumented, 'mounted but missing from /openapi.json').toEqual([])
    expect(notMounted, 'documented but not mounted').toEqual([])
  })

  it('declares every path template parameter as a required path parameter', () => {
    for (const [route, operation] of operations()) {
      const path = route.slice(route.indexOf(' ') + 1)
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]).sort()
      const declared = (operation.parameters ?? []).filter((p) => p.in === 'path')
      expect(declared.map((p) => p.name).sort(), route).toEqual(inTemplate)
      for (const parameter of declared) expect(parameter.required, `${route} ${parameter.name}`).toBe(true)
    }
  })

  it('every /v1 operation except /v1/auth/* declares bearer security with the scope it needs, or a user token', () => {
    expect(doc.components?.securitySchemes).toHaveProperty('bearerAuth')
    expect(doc.components?.securitySchemes).toHaveProperty('userToken')
    const protectedOps = operations().filter(([route]) => {
      const path = route.slice(route.indexOf(' ') + 1)
      return path.startsWith('/v1/') && !PUBLIC.test(path)
    })
    expect(protectedOps.length).toBeGreaterThan(0)
    for (const [route, operation] of protectedOps) {
      const [requirement, ...others] = operation.security ?? []
      expect(others, `${route} has several security requirements`).toEqual([])
      expect(
        [{ bearerAuth: ['read'] }, { bearerAuth: ['chat'] }, { bearerAuth: ['admin'] }, { userToken: [] }],
        `${route} declares ${JSON.stringify(operation.security)}`,
      ).toContainEqual(requirement)
    }
  })

  it('every operation documents a 500 problem, and body-taking operations 400/413/415 problems', () => {
    const missing: string[] = []
    for (const [route, operation] of operations()) {
      const required = ['500', ...(operation.requestBody ? ['400', '413', '415'] : [])]
      // The OpenAI-compatible routes answer errors in OpenAI's shape, as application/json.
      const errorType = OPENAI_COMPATIBLE.test(route.slice(route.indexOf(' ') + 1)) ? 'application/json' : 'application/problem+json'
      for (const status of required) {
        const response = operation.responses[status]
        if (!response?.content?.[errorType]) missing.push(`${route} → ${status}`)
      }
    }
    expect(missing, 'operations lacking a documented application/problem+json response').toEqual([])
  })
})
