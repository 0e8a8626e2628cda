import { createHash, randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBedrockClient } from '../../src/bedrock/bedrock-client'
import { createBedrockEmulator, DEFAULT_EMULATOR_CREDENTIALS, DEFAULT_EMULATOR_REGION } from '../../src/bedrock/emulator'
import { directoryBlobStore } from '../../src/entries/directory-blob-store'
import { expectProblem } from '../helpers'
import { createHttpTestApp, type HttpTestApp, type HttpUser } from './http-app'

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any

let t: HttpTestApp
let dir: string
/** Every Converse request body the emulator received, over real HTTP. */
const bedrockRequests: Json[] = []
let closeEmulator: () => Promise<void>

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgechat-files-'))
  const emulator = createBedrockEmulator({ credentials: DEFAULT_EMULATOR_CREDENTIALS })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: async (request) => {
          bedrockRequests.push(await request.clone().json())
          return emulator.fetch(request)
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(started),
    )
  })
  closeEmulator = () => new Promise<void>((resolve) => server.close(() => resolve()))
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  t = await createHttpTestApp(
    { MAX_FILE_BYTES: '200000', MAX_WORKSPACE_FILE_BYTES: '600000', INLINE_MEDIA_MAX_BYTES: '2000' },
    { blobs: directoryBlobStore(dir), models: createBedrockClient({ region: DEFAULT_EMULATOR_REGION, endpoint, credentials: DEFAULT_EMULATOR_CREDENTIALS }) },
  )
})
afterAll(async () => {
  await t.close()
  await closeEmulator()
  rmSync(dir, { recursive: true, force: true })
})

const json = async (res: Response, status = 200) => {
  const text = await res.text()
  if (res.status !== status) throw new Error(`expected ${status}, got ${res.status}: ${text}`)
  return JSON.parse(text)
}
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex')
const blobPath = (hash: string) => join(dir, hash.slice(0, 2), hash.slice(2, 4), hash)
/** Every byte value, then random bytes: what a text-minded pipeline would damage. */
const binary = (size: number) => new Uint8Array([...Array.from({ length: 256 }, (_, i) => i), ...randomBytes(Math.max(0, size - 256))])
const uploadRaw = (user: HttpUser, bytes: Uint8Array, type: string, name: string, query = '') =>
  user.call('POST', `/v1/files?name=${encodeURIComponent(name)}${query}`, { body: bytes, headers: { 'content-type': type } })

async function team() {
  const owner = await t.register('owner')
  const workspace = await json(await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } }), 201)
  const add = async (role: string) => {
    const user = await t.register(role)
    const invitation = await json(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: user.email, role } }), 202)
    await json(await user.call('POST', `/v1/me/invitations/${invitation.id}/accept`))
    return user
  }
  return { owner, workspace, member: await add('member'), admin: await add('admin') }
}

describe('files', () => {
  it('round-trips raw bytes exactly, with metadata, headers and a content-addressed blob written atomically', async () => {
    const user = await t.register()
    const bytes = binary(70_000)
    const name = 'Relevé été ☀️ "final".pdf'
    const file = await json(await uploadRaw(user, bytes, 'application/pdf', name), 201)
    expect(file).toEqual({
      id: expect.stringMatching(/^file_/),
      name,
      mediaType: 'application/pdf',
      size: bytes.length,
      sha256: sha256(bytes),
      workspaceId: user.workspace.id,
      createdAt: expect.any(String),
    })
    expect(await json(await user.call('GET', `/v1/files/${file.id}`))).toEqual(file)
    const res = await user.call('GET', `/v1/files/${file.id}/content`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    expect(res.headers.get('etag')).toBe(`"${file.sha256}"`)
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="Relev_ _t_ __ _final_.pdf"; filename*=UTF-8''${encodeURIComponent(name)}`)
    const back = new Uint8Array(await res.arrayBuffer())
    expect(sha256(back)).toBe(file.sha256)
    expect(back.length).toBe(bytes.length)
    const notModified = await user.call('GET', `/v1/files/${file.id}/content`, { headers: { 'if-none-match': `"${file.sha256}"` } })
    expect(notModified.status).toBe(304)

    expect(sha256(readFileSync(blobPath(file.sha256)))).toBe(file.sha256)
    expect(readdirSync(join(dir, file.sha256.slice(0, 2), file.sha256.slice(2, 4))).filter((entry) => entry.endsWith('.tmp'))).toEqual([])
  })

  it('takes multipart uploads (field "file") byte for byte', async () => {
    const user = await t.register()
    const bytes = binary(50_000)
    const form = new FormData()
    form.append('file', new Blob([bytes], { type: 'image/png' }), 'photo.png')
    const file = await json(await user.call('POST', '/v1/files', { body: form }), 201)
    expect(file).toMatchObject({ name: 'photo.png', mediaType: 'image/png', size: bytes.length, sha256: sha256(bytes) })
    const back = new Uint8Array(await (await user.call('GET', `/v1/files/${file.id}/content`)).arrayBuffer())
    expect(sha256(back)).toBe(sha256(bytes))
  })

  it('refuses bad uploads and enforces the file and workspace limits (413)', async () => {
    const user = await t.register()
    await expectProblem(await user.call('POST', '/v1/files?name=x', { body: new Uint8Array([1, 2]), headers: { 'content-type': '' } }), 415, 'unsupported_media_type')
    await expectProblem(await user.call('POST', '/v1/files', { body: new Uint8Array([1, 2]), headers: { 'content-type': 'image/png' } }), 400, 'validation_failed')
    const empty = new FormData()
    empty.append('other', 'x')
    await expectProblem(await user.call('POST', '/v1/files', { body: empty }), 400, 'validation_failed')
    await expectProblem(await uploadRaw(user, binary(200_001), 'application/octet-stream', 'big.bin'), 413, 'payload_too_large')
    const tooBig = new FormData()
    tooBig.append('file', new Blob([binary(200_001)]), 'big.bin')
    await expectProblem(await user.call('POST', '/v1/files', { body: tooBig }), 413, 'payload_too_large')
    for (let i = 0; i < 3; i++) await json(await uploadRaw(user, binary(190_000), 'application/octet-stream', `part${i}.bin`), 201)
    await expectProblem(await uploadRaw(user, binary(40_000), 'application/octet-stream', 'over.bin'), 413, 'payload_too_large')
    await expectProblem(await uploadRaw(user, binary(10), 'application/octet-stream', 'x', '&workspaceId=ws_nope'), 404, 'not_found')
    await expectProblem(await t.request('POST', '/v1/files?name=x', { body: new Uint8Array([1]), headers: { 'content-type': 'text/plain' } }), 401, 'unauthorized')
  })

  it('follows the workspace: members read, others get 404; the uploader or an admin deletes', async () => {
    const { owner, workspace, member, admin } = await team()
    const outsider = await t.register('outsider')
    const file = await json(await uploadRaw(owner, binary(1_000), 'text/plain', 'notes.txt', `&workspaceId=${workspace.id}`), 201)
    expect((await member.call('GET', `/v1/files/${file.id}`)).status).toBe(200)
    for (const path of [`/v1/files/${file.id}`, `/v1/files/${file.id}/content`]) await expectProblem(await outsider.call('GET', path), 404, 'not_found')
    await expectProblem(await outsider.call('DELETE', `/v1/files/${file.id}`), 404, 'not_found')
    await expectProblem(await member.call('DELETE', `/v1/files/${file.id}`), 403, 'forbidden')
    expect((await admin.call('DELETE', `/v1/files/${file.id}`)).status).toBe(204)
    await expectProblem(await owner.call('GET', `/v1/files/${file.id}`), 404, 'not_found')
    expect(existsSync(blobPath(file.sha256))).toBe(false)
  })

  it("sends a fileId image's bytes to Bedrock, read from the store at call time; a deleted file becomes a note", async () => {
    const user = await t.register()
    const bytes = binary(30_000)
    const file = await json(await uploadRaw(user, bytes, 'image/png', 'chart.png'), 201)
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const turn = await json(
      await user.call('POST', `/v1/conversations/${conv.id}/messages`, {
        body: { content: [{ type: 'text', text: 'What is in the chart?' }, { type: 'image', format: 'png', fileId: file.id }], stream: false },
      }),
      201,
    )
    expect(turn.userMessage.parts[1]).toEqual({ type: 'image', format: 'png', fileId: file.id })
    const sent = bedrockRequests.at(-1)
    const image = sent.messages[0].content.find((block: Json) => block.image)
    expect(image.image.format).toBe('png')
    expect(sha256(Buffer.from(image.image.source.bytes, 'base64'))).toBe(sha256(bytes))

    expect((await user.call('DELETE', `/v1/files/${file.id}`)).status).toBe(204)
    await json(await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: 'And now?', stream: false } }), 201)
    const later = bedrockRequests.at(-1)
    expect(JSON.stringify(later)).not.toContain(image.image.source.bytes.slice(0, 100))
    expect(later.messages[0].content).toContainEqual({ text: '[image removed]' })
  })

  it('moves inline media above the threshold to the store, and deletes it with its conversation', async () => {
    const user = await t.register()
    const bytes = binary(5_000)
    const data = Buffer.from(bytes).toString('base64')
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const turn = await json(
      await user.call('POST', `/v1/conversations/${conv.id}/messages`, {
        body: { content: [{ type: 'text', text: 'Look' }, { type: 'image', format: 'jpeg', data }, { type: 'document', format: 'txt', name: 'small', data: 'aGk=' }], stream: false },
      }),
      201,
    )
    const [, moved, small] = turn.userMessage.parts
    expect(moved).toEqual({ type: 'image', format: 'jpeg', fileId: expect.stringMatching(/^file_/) })
    expect(small).toEqual({ type: 'document', format: 'txt', name: 'small', data: 'aGk=' })
    const stored = await t.client.execute({ sql: 'SELECT parts FROM messages WHERE id = ?', args: [turn.userMessage.id] })
    expect(String(stored.rows[0]!.parts)).not.toContain(data.slice(0, 64))
    const file = await json(await user.call('GET', `/v1/files/${moved.fileId}`))
    expect(file).toMatchObject({ mediaType: 'image/jpeg', size: bytes.length, sha256: sha256(bytes) })
    const sent = bedrockRequests.at(-1).messages[0].content.find((block: Json) => block.image)
    expect(sha256(Buffer.from(sent.image.source.bytes, 'base64'))).toBe(sha256(bytes))

    expect((await user.call('DELETE', `/v1/conversations/${conv.id}`)).status).toBe(204)
    await expectProblem(await user.call('GET', `/v1/files/${moved.fileId}`), 404, 'not_found')
    expect(existsSync(blobPath(file.sha256))).toBe(false)
  })

  it('keeps nothing of the media a refused turn had moved', async () => {
    const user = await t.register()
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const slow = await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: '[[emulator tokens=30 delay=30]] slow' } })
    const data = Buffer.from(binary(6_000)).toString('base64')
    await expectProblem(
      await user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content: [{ type: 'image', format: 'png', data }], stream: false } }),
      409,
      'conflict',
    )
    await slow.text()
    const left = await t.client.execute({ sql: 'SELECT count(*) AS n FROM files WHERE conversation_id = ?', args: [conv.id] })
    expect(Number(left.rows[0]!.n)).toBe(0)
  })

  it('refuses a fileId of another workspace or of the wrong kind, and a part with both data and fileId or neither', async () => {
    const user = await t.register()
    const other = await t.register()
    const theirs = await json(await uploadRaw(other, binary(100), 'image/png', 'theirs.png'), 201)
    const text = await json(await uploadRaw(user, binary(100), 'text/plain', 'a.txt'), 201)
    const conv = await json(await user.call('POST', '/v1/conversations', { body: {} }), 201)
    const send = (content: unknown) => user.call('POST', `/v1/conversations/${conv.id}/messages`, { body: { content, stream: false } })
    await expectProblem(await send([{ type: 'image', format: 'png', fileId: theirs.id }]), 404, 'not_found')
    await expectProblem(await send([{ type: 'image', format: 'png', fileId: text.id }]), 400, 'validation_failed')
    await expectProblem(await send([{ type: 'image', format: 'png', fileId: text.id, data: 'aGk=' }]), 400, 'validation_failed')
    await expectProblem(await send([{ type: 'image', format: 'png' }]), 400, 'validation_failed')
  })
})
