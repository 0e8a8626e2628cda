/**
 * client/: the committed types match what openapi-typescript generates from the running app's /openapi.json, and
 * createClient() makes typed calls against a real server over HTTP.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createClient, type EdgeChatClient, type Schemas } from '../../client/src/index'
import { generateTypes, SCHEMA_FILE } from '../../client/scripts/generate'
import { startServer } from '../browser/server'

let server: Awaited<ReturnType<typeof startServer>>
beforeAll(async () => {
  server = await startServer()
})
afterAll(() => server?.close())

async function registered(client: EdgeChatClient) {
  const email = `client-${crypto.randomUUID().slice(0, 8)}@example.com`
  const { data, error, response } = await client.POST('/v1/auth/register', { body: { email, password: 'correct horse battery' } })
  expect(error, JSON.stringify(error)).toBeUndefined()
  expect(response.status).toBe(201)
  return { email, ...data! }
}

describe('the typed client', () => {
  it('client/src/schema.ts is what openapi-typescript generates from the served /openapi.json', async () => {
    const res = await fetch(`${server.origin}/openapi.json`)
    expect(res.status).toBe(200)
    const generated = await generateTypes(await res.json())
    expect(generated).toContain('"/v1/conversations/{id}/messages"')
    expect(readFileSync(SCHEMA_FILE, 'utf8') === generated, 'client/src/schema.ts is stale: run `npm run client:generate`').toBe(true)
  })

  it('the comparison notices a change in the document', async () => {
    const document = (await (await fetch(`${server.origin}/openapi.json`)).json()) as { paths: Record<string, Record<string, { summary?: string }>> }
    document.paths['/v1/me']!.get!.summary = 'Changed'
    expect(await generateTypes(document)).not.toBe(readFileSync(SCHEMA_FILE, 'utf8'))
  })

  it('registers, then calls with a token: bodies, path parameters, query parameters and problems are typed', async () => {
    const anonymous = createClient({ baseUrl: server.origin })
    const account = await registered(anonymous)
    const client = createClient({ baseUrl: server.origin, token: async () => account.accessToken })

    const me = await client.GET('/v1/me')
    expect(me.data?.user.email).toBe(account.email)

    const created = await client.POST('/v1/conversations', { body: { title: 'Typed', modelId: undefined } })
    expect(created.response.status).toBe(201)
    const conversation: Schemas['Conversation'] = created.data!
    expect(conversation.title).toBe('Typed')

    const turn = await client.POST('/v1/conversations/{id}/messages', { params: { path: { id: conversation.id } }, body: { content: 'Hello', stream: false } })
    expect(turn.response.status).toBe(201)
    const answered = turn.data as { assistantMessage: Schemas['Message'] }
    expect(answered.assistantMessage.status).toBe('complete')

    const listed = await client.GET('/v1/conversations', { params: { query: { q: 'Hello', limit: 5 } } })
    expect(listed.data?.data.map((item) => item.id)).toEqual([conversation.id])

    const missing = await client.GET('/v1/conversations/{id}', { params: { path: { id: 'conv_missing' } } })
    expect(missing.response.status).toBe(404)
    expect(missing.error?.code).toBe('not_found')
  })

  it('sends an API key given as a string', async () => {
    const account = await registered(createClient({ baseUrl: server.origin }))
    const admin = createClient({ baseUrl: server.origin, token: account.accessToken })
    const key = await admin.POST('/v1/api-keys', { body: { name: 'typed', scopes: ['read'] } })
    expect(key.response.status).toBe(201)
    const reader = createClient({ baseUrl: server.origin, token: key.data!.key })
    expect((await reader.GET('/v1/me')).data?.user.email).toBe(account.email)
    expect((await createClient({ baseUrl: server.origin }).GET('/v1/me')).response.status).toBe(401)
  })
})

/** Compile-time checks (npm run typecheck): the client refuses what the contract does not allow. Never called. */
export function contractIsEnforced(client: EdgeChatClient) {
  // @ts-expect-error: password is required
  void client.POST('/v1/auth/register', { body: { email: 'a@example.com' } })
  // @ts-expect-error: no such route
  void client.GET('/v1/nope')
  // @ts-expect-error: the path parameter is required
  void client.GET('/v1/conversations/{id}', {})
}
