import { z } from 'zod'

/** A model id as Bedrock takes it: a base id, an inference profile id or an ARN (one token, no commas). */
export const ModelIdSchema = z.string().min(1).max(300).regex(/^[^\s,]+$/, 'must be one token without spaces or commas')

const price = z.number().nonnegative().max(10_000).nullable().optional()
const tokens = z.number().int().positive().max(100_000_000).nullable().optional()

/** One MODEL_CATALOG entry: the fields to set on a built-in model, or a new model's data (unset fields: unknown). */
export const ModelOverrideSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  ownedBy: z.string().min(1).max(100).optional(),
  contextWindow: tokens,
  maxOutputTokens: tokens,
  capabilities: z
    .strictObject({ tools: z.boolean(), vision: z.boolean(), documents: z.boolean(), reasoning: z.boolean(), structuredOutput: z.boolean() })
    .partial()
    .optional(),
  pricing: z
    .strictObject({ inputPerMTok: price, outputPerMTok: price, cacheReadPerMTok: price, cacheWritePerMTok: price })
    .optional(),
  released: z.iso.date().nullable().optional(),
  profiles: z.array(z.string().regex(/^[a-z][a-z-]{1,15}$/, 'must be a profile prefix like us or eu')).max(20).optional(),
})

export type ModelOverride = z.infer<typeof ModelOverrideSchema>

const MAX_ENTRIES = 1_000
const AsArray = z.array(ModelOverrideSchema.extend({ id: ModelIdSchema })).max(MAX_ENTRIES)
const AsObject = z.record(ModelIdSchema, ModelOverrideSchema).refine((entries) => Object.keys(entries).length <= MAX_ENTRIES, `at most ${MAX_ENTRIES} models`)

/**
 * MODEL_CATALOG: JSON, either an array of entries with an `id` or an object keyed by id. Each entry overrides the
 * fields it names on a known model, or adds a model. Parsed to overrides keyed by id.
 */
export const ModelCatalogVariable = z
  .string()
  .optional()
  .transform((text, ctx): Record<string, ModelOverride> => {
    if (text === undefined || text.trim() === '') return {}
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: `must be JSON (an array of models with an id, or an object keyed by id): ${(error as Error).message}` })
      return z.NEVER
    }
    const parsed = Array.isArray(json) ? AsArray.safeParse(json) : AsObject.safeParse(json)
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', path: issue.path.map((key) => (typeof key === 'symbol' ? String(key) : key)), message: issue.message })
      return z.NEVER
    }
    if (!Array.isArray(parsed.data)) return parsed.data
    const byId: Record<string, ModelOverride> = {}
    parsed.data.forEach(({ id, ...entry }, index) => {
      if (Object.hasOwn(byId, id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `"${id}" appears twice` })
      byId[id] = entry
    })
    return byId
  })
