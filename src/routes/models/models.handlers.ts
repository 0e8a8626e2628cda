import { AppError } from '../../errors'
import type { ModelInfo } from '../../models/catalog'
import { modelRegistry } from '../../models/registry'
import type { AppRouteHandler } from '../../types'
import type * as routes from './models.routes'

function renderModel(model: ModelInfo, defaultId: string) {
  return {
    id: model.id,
    object: 'model' as const,
    created: model.released ? Math.floor(Date.parse(`${model.released}T00:00:00Z`) / 1000) : 0,
    owned_by: model.ownedBy,
    name: model.name,
    contextWindow: model.contextWindow,
    maxOutputTokens: model.maxOutputTokens,
    capabilities: model.capabilities,
    pricing: model.pricing,
    default: model.id === defaultId,
  }
}

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { config } = c.var.services
  return c.json({ object: 'list' as const, data: modelRegistry(config).list().map((model) => renderModel(model, config.DEFAULT_MODEL_ID)) }, 200)
}

export const get: AppRouteHandler<typeof routes.get> = async (c) => {
  const { config } = c.var.services
  const { model: id } = c.req.valid('param')
  const registry = modelRegistry(config)
  const model = registry.allows(id) ? registry.list().find((entry) => entry.id === id) ?? registry.find(id) : undefined
  if (!model) throw new AppError('not_found', `The model ${JSON.stringify(id)} does not exist or is not served here`, { errors: [{ path: 'model', message: 'unknown model' }] })
  return c.json(renderModel(model, config.DEFAULT_MODEL_ID), 200)
}
