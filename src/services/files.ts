import { findPersonalWorkspace } from '../db/repositories/workspaces'
import * as repo from '../db/repositories/files'
import type { ConversationRow } from '../db/repositories/conversations'
import type { HistoryMessage } from '../db/repositories/messages'
import type { Part } from '../chat/parts'
import { DOCUMENT_FORMATS, IMAGE_FORMATS } from '../chat/inline-media'
import { AppError, notFound } from '../errors'
import { base64ToBytes, bytesToBase64 } from '../files/base64'
import { toHex } from '../lib/encoding'
import type { AuthContext, Services } from '../types'
import { roleAtLeast, workspaceAccess } from './workspace-access'

const MIB = 1024 * 1024
const sizeText = (bytes: number) => (bytes % MIB === 0 ? `${bytes / MIB} MiB` : `${bytes} bytes`)

/** What Bedrock accepts per attachment, checked when a part names a file. */
const MEDIA_LIMITS = { image: 3.75 * MIB, document: 4.5 * MIB }

/** Each format's media type (the first the inline-media tables give it). */
const MEDIA_TYPE_OF: Readonly<Record<string, string>> = Object.fromEntries(
  [...Object.entries(DOCUMENT_FORMATS), ...Object.entries(IMAGE_FORMATS)].reverse().map(([type, format]) => [format, type]),
)

function blobStore(services: Services) {
  if (!services.blobs) throw new AppError('not_ready', 'File storage is not configured on this server')
  return services.blobs
}

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

export interface NewFile {
  workspaceId?: string | undefined
  name: string
  mediaType: string
  bytes: Uint8Array<ArrayBuffer>
}

/** Stores bytes and their file row, within MAX_FILE_BYTES and the workspace's MAX_WORKSPACE_FILE_BYTES (else 413). */
async function storeFile(services: Services, auth: AuthContext, workspaceId: string, file: NewFile, conversationId: string | null): Promise<repo.FileRow> {
  const blobs = blobStore(services)
  const { MAX_FILE_BYTES, MAX_WORKSPACE_FILE_BYTES } = services.config
  if (file.bytes.byteLength > MAX_FILE_BYTES) throw new AppError('payload_too_large', `A file may hold at most ${sizeText(MAX_FILE_BYTES)}`)
  const used = await repo.workspaceFileBytes(services.db, workspaceId)
  if (used + file.bytes.byteLength > MAX_WORKSPACE_FILE_BYTES) {
    throw new AppError('payload_too_large', `This workspace's files may hold at most ${sizeText(MAX_WORKSPACE_FILE_BYTES)} (${sizeText(used)} used)`)
  }
  const sha256 = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', file.bytes)))
  await blobs.put(sha256, file.bytes)
  const row: repo.FileRow = {
    id: services.newId('file'),
    workspaceId,
    userId: auth.userId,
    conversationId,
    name: file.name,
    mediaType: file.mediaType,
    size: file.bytes.byteLength,
    sha256,
    createdAt: services.now(),
  }
  await repo.insertFile(services.db, row)
  return row
}

/** POST /v1/files: into the given workspace (default: the key's, else the caller's personal one); members and up. */
export async function uploadFile(services: Services, auth: AuthContext, file: NewFile): Promise<repo.FileRow> {
  blobStore(services)
  const workspaceId = file.workspaceId ?? auth.workspaceScope ?? (await findPersonalWorkspace(services.db, auth.userId))?.id
  if (!workspaceId) throw invalid('workspaceId', 'required (you have no personal workspace)')
  await workspaceAccess(services, auth, workspaceId, 'member')
  return storeFile(services, auth, workspaceId, file, null)
}

/** A file the caller may read: every member of its workspace. Anything else is 404. */
export async function readableFile(services: Services, auth: AuthContext, id: string): Promise<repo.FileRow> {
  const file = await repo.findFile(services.db, id)
  if (!file) throw notFound('File')
  await workspaceAccess(services, auth, file.workspaceId).catch((error: unknown) => {
    throw error instanceof AppError && error.code === 'not_found' ? notFound('File') : error
  })
  return file
}

export async function fileContent(services: Services, auth: AuthContext, id: string): Promise<{ file: repo.FileRow; bytes: Uint8Array<ArrayBuffer> }> {
  const file = await readableFile(services, auth, id)
  const bytes = await blobStore(services).get(file.sha256)
  if (!bytes) throw notFound('File')
  return { file, bytes }
}

/** Removes the blobs no file uses any more. */
async function dropBlobs(services: Services, keys: readonly string[]): Promise<void> {
  for (const key of keys) await services.blobs?.delete(key)
}

/**
 * Deletes a file (its uploader, or a workspace admin): it is 404 at once, and its bytes go when no other file holds
 * the same content. Messages that named it keep the part; the model is then sent a "[… removed]" note instead.
 */
export async function deleteFile(services: Services, auth: AuthContext, id: string): Promise<void> {
  const file = await readableFile(services, auth, id)
  const workspace = await workspaceAccess(services, auth, file.workspaceId)
  if (file.userId !== auth.userId && !roleAtLeast(workspace.role, 'admin')) throw new AppError('forbidden', 'Only its uploader or a workspace admin can delete a file')
  await dropBlobs(services, await repo.deleteFile(services.db, file))
}

/** With a conversation: the media its turns moved to the blob store (uploaded files stay: they belong to the workspace). */
export async function deleteConversationFiles(services: Services, conversationId: string): Promise<void> {
  await dropBlobs(services, await repo.deleteConversationFiles(services.db, conversationId))
}

const decodedSize = (base64: string) => Math.floor((base64.length * 3) / 4) - (base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0)

type MediaPart = Extract<Part, { type: 'image' | 'document' }>

/**
 * A turn's user parts as they are stored: a part naming a file is checked (same workspace as the conversation, its
 * media type matching the part's format, within Bedrock's size for the kind); inline media above
 * INLINE_MEDIA_MAX_BYTES is moved to the blob store (a file of the conversation) and named by its fileId, so no
 * message row nears the 2 MB D1 / Durable Object value limit. Without a blob store inline media stays inline.
 */
export async function storeTurnMedia(services: Services, auth: AuthContext, conversation: ConversationRow, parts: Part[]): Promise<Part[]> {
  const stored: Part[] = []
  for (const [index, part] of parts.entries()) {
    if (part.type !== 'image' && part.type !== 'document') {
      stored.push(part)
      continue
    }
    if (part.fileId !== undefined) {
      const file = await repo.findFile(services.db, part.fileId)
      if (!file || file.workspaceId !== conversation.workspaceId) throw notFound('File')
      const formats = part.type === 'image' ? IMAGE_FORMATS : DOCUMENT_FORMATS
      if (formats[file.mediaType] !== part.format) throw invalid(`content.${index}.format`, `the file is ${file.mediaType}, not ${part.type} ${part.format}`)
      if (file.size > MEDIA_LIMITS[part.type]) throw invalid(`content.${index}.fileId`, `${part.type}s must be at most ${part.type === 'image' ? '3.75' : '4.5'} MB`)
      stored.push(part)
      continue
    }
    if (!services.blobs || part.data === undefined || decodedSize(part.data) <= services.config.INLINE_MEDIA_MAX_BYTES) {
      stored.push(part)
      continue
    }
    const name = part.type === 'document' ? `${part.name}.${part.format}` : `image.${part.format}`
    const file = await storeFile(services, auth, conversation.workspaceId, { name, mediaType: MEDIA_TYPE_OF[part.format] ?? 'application/octet-stream', bytes: base64ToBytes(part.data) }, conversation.id)
    const { data: _data, ...rest } = part as MediaPart
    stored.push({ ...rest, fileId: file.id } as Part)
  }
  return stored
}

/** Deletes the files storeTurnMedia made for a turn that was then refused (`sent` as the user sent it, `stored` as moved). */
export async function discardMovedMedia(services: Services, sent: readonly Part[], stored: readonly Part[]): Promise<void> {
  for (const [index, part] of stored.entries()) {
    const original = sent[index]
    const movedTo = (part.type === 'image' || part.type === 'document') && part.fileId !== undefined ? part.fileId : undefined
    if (!movedTo || !original || !('data' in original) || original.data === undefined) continue
    const file = await repo.findFile(services.db, movedTo)
    if (file) await dropBlobs(services, await repo.deleteFile(services.db, file))
  }
}

/** The history with the bytes of the files its parts name, read from the blob store now (a deleted file has none). */
export async function withFileBytes(services: Services, history: readonly HistoryMessage[]): Promise<HistoryMessage[]> {
  const named = history.some((message) => (message.parts as Part[]).some((part) => (part.type === 'image' || part.type === 'document') && part.fileId !== undefined))
  if (!named) return [...history]
  const cache = new Map<string, string | null>()
  const bytesOf = async (fileId: string): Promise<string | null> => {
    if (!cache.has(fileId)) {
      const file = await repo.findFile(services.db, fileId)
      const bytes = file ? await services.blobs?.get(file.sha256) : null
      cache.set(fileId, bytes ? bytesToBase64(bytes) : null)
    }
    return cache.get(fileId) ?? null
  }
  const resolved: HistoryMessage[] = []
  for (const message of history) {
    const parts: Part[] = []
    for (const part of message.parts as Part[]) {
      if ((part.type === 'image' || part.type === 'document') && part.fileId !== undefined) {
        const data = await bytesOf(part.fileId)
        const { fileId: _fileId, ...rest } = part
        parts.push((data === null ? rest : { ...rest, data }) as Part)
      } else parts.push(part)
    }
    resolved.push({ ...message, parts })
  }
  return resolved
}
