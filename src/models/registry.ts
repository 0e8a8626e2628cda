import { BUILT_IN_MODELS, PROFILE_PREFIXES, unknownModel, vendorOf, type ModelInfo } from './catalog'
import type { ModelOverride } from './catalog-config'

/** The configuration the catalog depends on. */
export interface ModelConfig {
  DEFAULT_MODEL_ID: string
  /** The allow-list: when set, only these ids are served. */
  MODEL_IDS: readonly string[]
  /** MODEL_CATALOG, parsed: fields over the built-in entries, and added models. */
  MODEL_CATALOG: Readonly<Record<string, ModelOverride>>
}

/** The metric label of a model id in neither the catalog nor MODEL_IDS, so clients cannot mint series. */
export const OTHER_MODEL_LABEL = 'other'

export interface ModelRegistry {
  /** The catalog's data for an id (a catalog id, or a cross-region profile of one), whether allowed or not. */
  find(id: string): ModelInfo | undefined
  /** Whether turns may use the id: one of MODEL_IDS when set, else a catalog id or DEFAULT_MODEL_ID. */
  allows(id: string): boolean
  /** The models turns may use (GET /v1/models), each with the catalog's data when it has some. */
  list(): ModelInfo[]
  /** The `model` label of metrics: the id when the catalog or the operator knows it, else `other`. */
  metricLabel(id: string): string
}

function merge(base: ModelInfo, id: string, override: ModelOverride): ModelInfo {
  const { capabilities, pricing, ...fields } = override
  const defined = <T extends object>(value: T | undefined) => Object.fromEntries(Object.entries(value ?? {}).filter(([, field]) => field !== undefined))
  return {
    ...base,
    ...defined(fields),
    id,
    ownedBy: fields.ownedBy ?? (base.id === id ? base.ownedBy : vendorOf(id)),
    capabilities: { ...base.capabilities, ...defined(capabilities) },
    pricing: { ...base.pricing, ...defined(pricing) },
  }
}

function profileOf(id: string): { prefix: string; base: string } | undefined {
  const dot = id.indexOf('.')
  const prefix = id.slice(0, dot)
  return dot > 0 && PROFILE_PREFIXES.includes(prefix) ? { prefix, base: id.slice(dot + 1) } : undefined
}

function createRegistry(config: ModelConfig): ModelRegistry {
  const entries = new Map<string, ModelInfo>(BUILT_IN_MODELS.map((model) => [model.id, model]))
  const find = (id: string): ModelInfo | undefined => {
    const entry = entries.get(id)
    if (entry) return entry
    const profile = profileOf(id)
    const base = profile ? entries.get(profile.base) : undefined
    return base ? { ...base, id, profiles: [] } : undefined
  }
  // Base ids first, so an override of `us.<id>` starts from the overridden `<id>`.
  const overrides = Object.entries(config.MODEL_CATALOG).sort(([a], [b]) => Number(Boolean(profileOf(a))) - Number(Boolean(profileOf(b))))
  for (const [id, override] of overrides) entries.set(id, merge(find(id) ?? unknownModel(id), id, override))

  const allowList = new Set(config.MODEL_IDS)
  const allows = (id: string) => (allowList.size > 0 ? allowList.has(id) : id === config.DEFAULT_MODEL_ID || find(id) !== undefined)

  let listed: ModelInfo[] | undefined
  const list = () => {
    if (listed) return listed
    const ids = new Set<string>()
    if (allowList.size > 0) for (const id of allowList) ids.add(id)
    else {
      for (const entry of entries.values()) {
        ids.add(entry.id)
        for (const prefix of entry.profiles) ids.add(`${prefix}.${entry.id}`)
      }
      ids.add(config.DEFAULT_MODEL_ID)
    }
    listed = [...ids].map((id) => find(id) ?? unknownModel(id))
    return listed
  }

  return {
    find,
    allows,
    list,
    metricLabel: (id) => (allowList.has(id) || id === config.DEFAULT_MODEL_ID || find(id) ? id : OTHER_MODEL_LABEL),
  }
}

const registries = new WeakMap<ModelConfig, ModelRegistry>()

/** The catalog as configured, built once per configuration object. */
export function modelRegistry(config: ModelConfig): ModelRegistry {
  let registry = registries.get(config)
  if (!registry) {
    registry = createRegistry(config)
    registries.set(config, registry)
  }
  return registry
}
