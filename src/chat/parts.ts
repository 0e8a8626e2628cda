import { z } from '@hono/zod-openapi'

/** Message content: a tagged union on `type` (API.md). Size limits are checked by the turn route. */
export const ImageFormat = z.enum(['png', 'jpeg', 'gif', 'webp'])
export const DocumentFormat = z.enum(['pdf', 'csv', 'doc', 'docx', 'xls', 'xlsx', 'html', 'txt', 'md'])

export const TextPart = z.object({ type: z.literal('text'), text: z.string() })
const FileId = z.string().min(1).max(100).openapi({ description: 'A file (POST /v1/files) of the same workspace, instead of data' })
const oneSource = (part: { data?: string | undefined; fileId?: string | undefined }) => (part.data === undefined) !== (part.fileId === undefined)
const ONE_SOURCE = { message: 'give exactly one of data and fileId', path: ['data'] }
export const ImagePart = z.object({ type: z.literal('image'), format: ImageFormat, data: z.base64().optional(), fileId: FileId.optional() }).refine(oneSource, ONE_SOURCE)
export const DocumentPart = z
  .object({ type: z.literal('document'), format: DocumentFormat, name: z.string().min(1).max(200), data: z.base64().optional(), fileId: FileId.optional() })
  .refine(oneSource, ONE_SOURCE)
export const ToolCallPart = z.object({ type: z.literal('tool_call'), toolUseId: z.string(), name: z.string(), input: z.unknown() })
export const ToolResultPart = z.object({ type: z.literal('tool_result'), toolUseId: z.string(), content: z.unknown(), isError: z.boolean() })
export const ReasoningPart = z.object({ type: z.literal('reasoning'), text: z.string(), signature: z.string().optional() })

export const PartSchema = z
  .discriminatedUnion('type', [TextPart, ImagePart, DocumentPart, ToolCallPart, ToolResultPart, ReasoningPart])
  .openapi('Part')

export type Part = z.infer<typeof PartSchema>
