import { AppError } from '../../errors'
import { dataUrl, inlineFilePart } from '../../chat/inline-media'
import type { Part } from '../../chat/parts'

type UIPart = { type: string } & Record<string, unknown>

/** Parts a UI message carries that are not content (steps, sources, custom data): the model never sees them. */
const IGNORED = /^(step-start|source-url|source-document|data-.+)$/

const invalid = (path: string, message: string) => new AppError('validation_failed', `${path}: ${message}`, { errors: [{ path, message }] })

function filePart(part: UIPart, path: string): Part {
  if (part.fileId !== undefined || part.providerReference !== undefined) {
    throw invalid(path, 'file references (fileId) are not supported yet: send the file inline as a data URL')
  }
  const file = dataUrl(typeof part.url === 'string' ? part.url : '', `${path}.url`)
  const mediaType = typeof part.mediaType === 'string' && part.mediaType ? part.mediaType.toLowerCase().split(';')[0]!.trim() : file.mediaType
  return inlineFilePart({ mediaType, data: file.data, filename: typeof part.filename === 'string' ? part.filename : undefined }, `${path}.mediaType`)
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
