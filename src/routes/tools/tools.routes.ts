import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { access } from '../../middleware/scopes'
import { jsonContent } from '../../schemas'

export const ToolSchema = z
  .object({
    name: z.string().openapi({ example: 'calculator', description: 'What an assistant or a turn names; MCP tools are mcp__{server}__{tool}' }),
    description: z.string(),
    inputSchema: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the input' }),
    source: z.enum(['builtin', 'mcp']),
    server: z.string().optional().openapi({ description: "The MCP server's name (source mcp)" }),
  })
  .openapi('Tool')

export const list = createRoute({
  method: 'get',
  path: '/v1/tools',
  tags: ['Tools'],
  summary: 'Server-side tools a workspace may use: built-in, then those of its enabled MCP servers',
  ...access('read'),
  request: {
    query: z.object({
      workspaceId: z.string().min(1).max(100).optional().openapi({ description: 'Default: the API key’s workspace, else your personal workspace' }),
    }),
  },
  responses: { 200: jsonContent(z.object({ data: z.array(ToolSchema) }).openapi('ToolList'), 'Tools'), ...errorResponses(400, 401, 403, 404) },
})
