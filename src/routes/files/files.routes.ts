import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { storedName } from '../../lib/text'
import { access } from '../../middleware/scopes'
import { jsonContent, pathId } from '../../schemas'

const tags = ['Files']
const FileParams = z.object({ id: pathId('file_01J...') })

export const FileSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    mediaType: z.string(),
    size: z.number().int().openapi({ description: 'Bytes' }),
    sha256: z.string().openapi({ description: 'Hex SHA-256 of the content (also its ETag)' }),
    workspaceId: z.string(),
    createdAt: z.string(),
  })
  .openapi('File')

export const upload = createRoute({
  method: 'post',
  path: '/v1/files',
  tags,
  summary: 'Upload a file: multipart form field `file`, or the raw bytes with their Content-Type and ?name=',
  description: "Into the workspace given (default: the key's, else your personal one). Turn parts may name it by `fileId`.",
  ...access('chat'),
  request: {
    query: z.object({
      workspaceId: z.string().min(1).max(100).optional(),
      name: storedName(255).optional().openapi({ description: 'The file name (raw uploads; multipart takes the part\'s filename)' }),
    }),
    // Plain schemas, not zod: the handler reads the body itself (bounded by MAX_FILE_BYTES), whatever its media type.
    body: {
      content: {
        'multipart/form-data': { schema: { type: 'object', properties: { file: { type: 'string', format: 'binary' } }, required: ['file'] } },
        '*/*': { schema: { type: 'string', format: 'binary', description: 'The raw bytes, with their own Content-Type (and ?name=)' } },
      },
      required: true,
    },
  },
  responses: { 201: jsonContent(FileSchema, 'Stored'), ...errorResponses(400, 401, 403, 404, 413, 415, 503) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/files/{id}',
  tags,
  summary: "A file's metadata",
  ...access('read'),
  request: { params: FileParams },
  responses: { 200: jsonContent(FileSchema, 'The file'), ...errorResponses(401, 404) },
})

export const content = createRoute({
  method: 'get',
  path: '/v1/files/{id}/content',
  tags,
  summary: "A file's bytes, with its Content-Type, a Content-Disposition naming it and its SHA-256 as ETag",
  ...access('read'),
  request: { params: FileParams },
  responses: {
    200: { description: 'The bytes', content: { 'application/octet-stream': { schema: z.string().openapi({ type: 'string', format: 'binary' }) } } },
    304: { description: 'Not modified (If-None-Match)' },
    ...errorResponses(401, 404, 503),
  },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/files/{id}',
  tags,
  summary: 'Delete a file (its uploader or a workspace admin)',
  ...access('chat'),
  request: { params: FileParams },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
})
