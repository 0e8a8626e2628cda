import { describe, expect, it } from 'vitest'
import { call } from './helpers'

describe('workers: OpenAPI', () => {
  it('serves /openapi.json (3.1) with the identity routes and the problem schema', async () => {
    const reply = await call('GET', '/openapi.json')
    expect(reply.status, reply.text).toBe(200)
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/)
    expect(reply.body.openapi).toBe('3.1.0')
    expect(Object.keys(reply.body.paths)).toEqual(
      expect.arrayContaining(['/health', '/v1/auth/register', '/v1/auth/login', '/v1/auth/refresh', '/v1/me', '/v1/api-keys', '/v1/workspaces']),
    )
    expect(reply.body.components.schemas).toHaveProperty('Problem')
    expect(reply.body.components.securitySchemes).toHaveProperty('bearerAuth')
  })
})
