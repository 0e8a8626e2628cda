// Files through the Worker entry inside workerd: D1 rows and the R2 bucket bound as FILES (miniflare's R2).
import { createExecutionContext } from 'cloudflare:test'
import { env, exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import worker, { type WorkerEnv } from '../../src/entries/worker'
import { call, expectProblem, ORIGIN, readReply, register, type Json, type Registered } from './helpers'

const hex = (buffer: ArrayBuffer) => [...new Uint8Array(buffer)].map((byte) => byte.toString(16).padStart(2, '0')).join('')
const sha256 = async (bytes: Uint8Array<ArrayBuffer>) => hex(await crypto.subtle.digest('SHA-256', bytes))
const binary = (size: number): Uint8Array<ArrayBuffer> => {
  const bytes = new Uint8Array(size)
  for (let i = 0; i < 256 && i < size; i++) bytes[i] = i
  for (let at = 256; at < size; at += 65_536) crypto.getRandomValues(bytes.subarray(at, Math.min(size, at + 65_536)))
  return bytes
}
const toBase64 = (bytes: Uint8Array) => {
  let binaryText = ''
  for (const byte of bytes) binaryText += String.fromCharCode(byte)
  return btoa(binaryText)
}

async function upload(user: Registered, body: BodyInit, headers: Record<string, string>, query = '') {
  const response = await exports.default.fetch(`${ORIGIN}/v1/files${query}`, { method: 'POST', headers: { authorization: `Bearer ${user.accessToken}`, ...headers }, body })
  return readReply(response)
}

describe('files on Workers (R2)', () => {
  it('round-trips raw and multipart uploads byte for byte, stored in R2 under their SHA-256', async () => {
    const user = await register('files')
    const bytes = binary(100_000)
    const raw = await upload(user, bytes, { 'content-type': 'application/pdf' }, '?name=report.pdf')
    expect(raw.status, raw.text).toBe(201)
    expect(raw.body).toMatchObject({ name: 'report.pdf', mediaType: 'application/pdf', size: bytes.length, sha256: await sha256(bytes) })
    const object = await env.FILES.get(raw.body.sha256)
    expect(await sha256(new Uint8Array(await object!.arrayBuffer()))).toBe(raw.body.sha256)

    const content = await exports.default.fetch(`${ORIGIN}/v1/files/${raw.body.id}/content`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(content.status).toBe(200)
    expect(content.headers.get('etag')).toBe(`"${raw.body.sha256}"`)
    expect(content.headers.get('content-disposition')).toContain('report.pdf')
    expect(await sha256(new Uint8Array(await content.arrayBuffer()))).toBe(raw.body.sha256)

    const form = new FormData()
    form.append('file', new File([bytes.slice(0, 5_000)], 'photo.png', { type: 'image/png' }))
    const multipart = await upload(user, form, {})
    expect(multipart.status, multipart.text).toBe(201)
    expect(multipart.body).toMatchObject({ name: 'photo.png', mediaType: 'image/png', sha256: await sha256(bytes.slice(0, 5_000)) })

    const other = await register('files-other')
    expectProblem(await call('GET', `/v1/files/${raw.body.id}`, { token: other.accessToken }), 404, 'not_found')
    expect((await call('DELETE', `/v1/files/${raw.body.id}`, { token: user.accessToken })).status).toBe(204)
    expectProblem(await call('GET', `/v1/files/${raw.body.id}/content`, { token: user.accessToken }), 404, 'not_found')
    expect(await env.FILES.get(raw.body.sha256)).toBeNull()
  })

  it('sends a fileId image to the model and moves large inline media out of D1 rows', async () => {
    const user = await register('files-turn')
    const bytes = binary(40_000)
    const file = (await upload(user, bytes, { 'content-type': 'image/png' }, '?name=chart.png')).body
    const conv = (await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })).body
    const turn = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: [{ type: 'text', text: 'Describe' }, { type: 'image', format: 'png', fileId: file.id }], stream: false },
    })
    expect(turn.status, turn.text).toBe(201)
    // The emulator counts a media block by its JSON: the image's base64 bytes reached it.
    expect(turn.body.assistantMessage.usage.inputTokens).toBeGreaterThan(toBase64(bytes).length / 4)

    const inline = binary(300_000)
    const moved = await call('POST', `/v1/conversations/${conv.id}/messages`, {
      token: user.accessToken,
      json: { content: [{ type: 'text', text: 'And this one' }, { type: 'image', format: 'webp', data: toBase64(inline) }], stream: false },
    })
    expect(moved.status, moved.text).toBe(201)
    const part: Json = moved.body.userMessage.parts[1]
    expect(part).toEqual({ type: 'image', format: 'webp', fileId: expect.stringMatching(/^file_/) })
    const row = await env.DB.prepare('SELECT length(parts) AS n FROM messages WHERE id = ?').bind(moved.body.userMessage.id).first<{ n: number }>()
    expect(row!.n).toBeLessThan(1_000)
    const stored = await call('GET', `/v1/files/${part.fileId}`, { token: user.accessToken })
    expect(stored.body).toMatchObject({ mediaType: 'image/webp', size: inline.length, sha256: await sha256(inline) })
    expect(moved.body.assistantMessage.usage.inputTokens).toBeGreaterThan(toBase64(inline).length / 4)
  })

  it('reads the bytes from R2 in the Durable Object that runs the generation', async () => {
    const doEnv: WorkerEnv = { ...env }
    delete doEnv.STREAM_STATE
    const user = await register('files-do')
    const bytes = binary(20_000)
    const file = (await upload(user, bytes, { 'content-type': 'image/gif' }, '?name=anim.gif')).body
    const conv = (await call('POST', '/v1/conversations', { token: user.accessToken, json: {} })).body
    const request = new Request(`${ORIGIN}/v1/conversations/${conv.id}/messages`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: [{ type: 'text', text: 'Frames?' }, { type: 'image', format: 'gif', fileId: file.id }], stream: false }),
    })
    const turn = await readReply(await worker.fetch(request, doEnv, createExecutionContext()))
    expect(turn.status, turn.text).toBe(201)
    expect(turn.body.assistantMessage.usage.inputTokens).toBeGreaterThan(toBase64(bytes).length / 4)
  })
})
