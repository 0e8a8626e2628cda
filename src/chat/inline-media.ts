import type { z } from '@hono/zod-openapi'
import { AppError } from '../errors'
import type { DocumentFormat, ImageFormat, Part } from './parts'

/** Files the compatible protocols send inline (data URLs), as our image and document parts. */

export const IMAGE_FORMATS: Readonly<Record<string, z.infer<typeof ImageFormat>>> = {
  'image/png': 'png',
  'image/jpeg': 'jpeg',
  'image/jpg': 'jpeg',
  'image/gif': 'gif',
  'image/webp': 'webp',
}

export const DOCUMENT_FORMATS: Readonly<Record<string, z.infer<typeof DocumentFormat>>> = {
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

const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

/** A base64 data URL's media type and payload; anything else (http URLs included: nothing is fetched) is a 400. */
export function dataUrl(url: string, path: string): { mediaType: string; data: string } {
  const match = DATA_URL.exec(url)
  if (!match) throw invalid(path, 'must be a data URL (data:<media type>;base64,…): remote URLs are not fetched')
  const [, mediaType, params, payload] = match as unknown as [string, string, string, string]
  if (!/;base64$/i.test(params)) throw invalid(path, 'the data URL must be base64-encoded')
  const data = payload.replace(/\s+/g, '')
  if (data.length === 0 || data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) throw invalid(path, 'the data URL is not valid base64')
  return { mediaType: mediaType.toLowerCase().split(';')[0]!.trim(), data }
}

/** Bedrock names documents with letters, digits, spaces, hyphens, parentheses and brackets only. */
function documentName(filename: string | undefined, format: string): string {
  const base = (filename ?? '').replace(/\.[A-Za-z0-9]{1,5}$/, '')
  const name = base.replace(/[^A-Za-z0-9 \-()[\]]+/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 200)
  return name || `document ${format}`
}

/**
 * An inline file as an image or document part, by media type; `accept` narrows it (an `image_url` takes images
 * only). Other media types are a 400 naming `path`.
 */
export function inlineFilePart(
  file: { mediaType: string; data: string; filename?: string | undefined },
  path: string,
  accept: 'images' | 'images and documents' = 'images and documents',
): Part {
  const image = IMAGE_FORMATS[file.mediaType]
  if (image) return { type: 'image', format: image, data: file.data }
  const document = accept === 'images' ? undefined : DOCUMENT_FORMATS[file.mediaType]
  if (document) return { type: 'document', format: document, name: documentName(file.filename, document), data: file.data }
  const supported = accept === 'images' ? 'png, jpeg, gif, webp' : 'images: png, jpeg, gif, webp; documents: pdf, csv, doc, docx, xls, xlsx, html, txt, md'
  throw invalid(path, `${file.mediaType.slice(0, 100) || 'this media type'} is not supported (${supported})`)
}
