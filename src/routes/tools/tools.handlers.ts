import { defaultWorkspaceId } from '../../services/assistants'
import { workspaceAccess } from '../../services/workspace-access'
import type { AppRouteHandler } from '../../types'
import type * as routes from './tools.routes'

export const list: AppRouteHandler<typeof routes.list> = async (c) => {
  const { services, auth } = c.var
  const workspaceId = c.req.valid('query').workspaceId ?? (await defaultWorkspaceId(services, auth))
  await workspaceAccess(services, auth, workspaceId)
  const tools = await services.tools.list(workspaceId)
  return c.json(
    {
      data: tools.map((tool) => ({
        name: tool.name,
        description: tool.description,
        inputSchema: tool.inputSchema,
        source: tool.source,
        ...(tool.server ? { server: tool.server } : {}),
      })),
    },
    200,
  )
}
