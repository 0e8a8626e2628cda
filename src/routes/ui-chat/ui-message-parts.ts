import { AppError } from '../../errors'
import type { DocumentFormat, ImageFormat, Part } from '../../chat/parts'
import type { z } from '@hono/zod-openapi'

type UIPart = { type: string } & Record<string, unknown>

const IMAGE_FORMATS: Readonly<Record<string, z.infer<typeof ImageFormat>>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
}

const DOCUMENT_FORMATS: Readonly<Record<string, z.infer<typeof DocumentFormat>>> = {
  'application/pdf': 'pdf',
  'text/csv': 'csv',
  'application/msword': 'doc',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'docx',
  'application/vnd.ms-excel': 'xls',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'xlsx',
  'text/html': 'html',
  'text/plain': 'txt',
  'text/markdown': 'md',
}

/** Parts a UI message carries that are not content (steps, sources, custom data): the model never sees them. */
const IGNORED = /^(step-start|source-url|source-document|data-.+)$/

const DATA_URL = /^data:([^;,]+)((?:;[^;,]*)*),(.*)$/s

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

/** Bedrock names documents with letters, digits, spaces, hyphens, parentheses and brackets only. */
function documentName(filename: unknown, format: string): string {
  const base = typeof filename === 'string' ? filename.replace(/\.[A-Za-z0-9]{1,5}$/, '') : ''
  const name = base.replace(/[^A-Za-z0-9 \-()[\]]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)
  return name || `document ${format}`
}

function filePart(part: UIPart, path: string): Part {
  if (part.fileId !== undefined || part.providerReference !== undefined) {
    throw invalid(path, 'file references (fileId) are not supported yet: send the file inline as a data URL')
  }
  const url = typeof part.url === 'string' ? part.url : ''
  const match = DATA_URL.exec(url)
  if (!match) throw invalid(`${path}.url`, 'must be a data URL (data:<media type>;base64,…): remote URLs are not fetched')
  const [, urlType, params, payload] = match as unknown as [string, string, string, string]
  if (!/;base64$/i.test(params)) throw invalid(`${path}.url`, 'the data URL must be base64-encoded')
  const mediaType = (typeof part.mediaType === 'string' && part.mediaType ? part.mediaType : urlType).toLowerCase().split(';')[0]!.trim()
  const data = payload.replace(/\s+/g, '')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0 || data.length === 0) throw invalid(`${path}.url`, 'the data URL is not valid base64')
  const image = IMAGE_FORMATS[mediaType]
  if (image) return { type: 'image', format: image, data }
  const document = DOCUMENT_FORMATS[mediaType]
  if (document) return { type: 'document', format: document, name: documentName(part.filename, document), data }
  throw invalid(`${path}.mediaType`, `${mediaType.slice(0, 100)} is not supported (images: png, jpeg, gif, webp; documents: pdf, csv, doc, docx, xls, xlsx, html, txt, md)`)
}

/** A UI user message's content as our parts: text and inline files; anything else is refused. */
export function partsOfUserMessage(parts: readonly UIPart[], index: number): Part[] {
  const out: Part[] = []
  parts.forEach((part, at) => {
    const path = `messages.${index}.parts.${at}`
    if (part.type === 'text') {
      if (typeof part.text !== 'string') throw invalid(`${path}.text`, 'must be a string')
      out.push({ type: 'text', text: part.text })
    } else if (part.type === 'file') out.push(filePart(part, path))
    else if (!IGNORED.test(part.type)) throw invalid(`${path}.type`, `"${part.type.slice(0, 100)}" parts cannot be sent in a user message`)
  })
  return out
}
