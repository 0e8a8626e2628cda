import type { Context } from 'hono'
import type { FileRow } from '../../db/repositories/files'
import { AppError } from '../../errors'
import { deleteFile, fileContent, readableFile, uploadFile } from '../../services/files'
import type { AppEnv, AppRouteHandler } from '../../types'
import type * as routes from './files.routes'

const render = (file: FileRow) => ({
  id: file.id,
  name: file.name,
  mediaType: file.mediaType,
  size: file.size,
  sha256: file.sha256,
  workspaceId: file.workspaceId,
  createdAt: file.createdAt.toISOString(),
})

/** Room for a multipart body's boundaries and headers around the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024

/** The request body, refused with a 413 as soon as it passes `max` bytes (whatever Content-Length claims). */
async function readBody(c: Context<AppEnv>, max: number): Promise<Uint8Array<ArrayBuffer>> {
  const tooLarge = () => new AppError('payload_too_large', `A file may hold at most ${max} bytes`)
  const length = Number(c.req.header('content-length') ?? 0)
  if (length > max) throw tooLarge()
  const chunks: Uint8Array[] = []
  let total = 0
  const body = c.req.raw.body
  if (body) {
    for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength
      if (total > max) throw tooLarge()
      chunks.push(chunk)
    }
  }
  const bytes = new Uint8Array(total)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return bytes
}

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/

export const upload: AppRouteHandler<typeof routes.upload> = async (c) => {
  const { services, auth } = c.var
  const query = c.req.valid('query')
  const type = c.req.header('content-type')?.trim() ?? ''
  const max = services.config.MAX_FILE_BYTES
  if (!type) throw new AppError('unsupported_media_type', 'Send the file as multipart/form-data (field "file") or as its raw bytes with their Content-Type')
  let file: { name: string; mediaType: string; bytes: Uint8Array<ArrayBuffer> }
  if (/^multipart\/form-data\s*;/i.test(type)) {
    const raw = await readBody(c, max + MULTIPART_OVERHEAD)
    const form = await new Response(raw, { headers: { 'content-type': type } }).formData().catch(() => {
      throw invalid('', 'the multipart body could not be read')
    })
    const part = form.get('file')
    if (!(part instanceof File)) throw invalid('file', 'a file field named "file" is required')
    const name = query.name ?? part.name
    if (!name || name.length > 255 || name.trim() === '') throw invalid('file', 'the file needs a name of 1 to 255 characters')
    file = { name, mediaType: part.type || 'application/octet-stream', bytes: new Uint8Array(await part.arrayBuffer()) }
  } else {
    if (!query.name) throw invalid('name', 'required for a raw upload (?name=)')
    file = { name: query.name, mediaType: type, bytes: await readBody(c, max) }
  }
  if (file.mediaType.length > 255 || CONTROL.test(file.mediaType)) throw invalid('Content-Type', 'not a media type')
  const row = await uploadFile(services, auth, { ...file, workspaceId: query.workspaceId })
  return c.json(render(row), 201)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  return c.json(render(await readableFile(c.var.services, c.var.auth, c.req.valid('param').id)), 200)
}

/** RFC 6266: an ASCII fallback and the exact name in RFC 5987 encoding. */
function disposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\]/g, '_')
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(name)}`
}

export const content: AppRouteHandler<typeof routes.content> = async (c) => {
  const { file, bytes } = await fileContent(c.var.services, c.var.auth, c.req.valid('param').id)
  const etag = `"${file.sha256}"`
  const headers = { ETag: etag, 'Cache-Control': 'private, max-age=0, must-revalidate' }
  if (c.req.header('if-none-match')?.split(',').some((tag) => tag.trim() === etag)) return c.body(null, 304, headers) as never
  return c.body(bytes, 200, {
    ...headers,
    'Content-Type': file.mediaType,
    'Content-Disposition': disposition(file.name),
    'Content-Length': String(bytes.byteLength),
  }) as never
}

export const remove: AppRouteHandler<typeof routes.remove> = async (c) => {
  await deleteFile(c.var.services, c.var.auth, c.req.valid('param').id)
  return c.body(null, 204)
}
