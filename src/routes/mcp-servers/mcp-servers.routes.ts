import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'

const tags = ['MCP servers']
const WorkspaceParams = z.object({ id: pathId('ws_01J...') })
const ServerParams = WorkspaceParams.extend({ serverId: pathId('mcp_01J...') })

const Name = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, _ or -')
  .refine((name) => !name.includes('__'), 'must not contain __ (tool names are mcp__{name}__{tool})')
  .openapi({ example: 'github' })
const Url = z
  .url({ protocol: /^https?$/ })
  .max(2_000)
  .openapi({ example: 'https://mcp.example.com/mcp', description: 'The Streamable HTTP endpoint' })
const Headers = z
  .record(
    z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/, 'must be an HTTP header name'),
    z.string().max(8_000).regex(/^[^\r\n\0]*$/, 'must be one line'),
  )
  .refine((headers) => Object.keys(headers).length <= 20, 'at most 20 headers')
  .openapi({ description: 'Sent with every request to the server (e.g. Authorization). Write-only: stored encrypted, never returned', example: { Authorization: 'Bearer …' } })

export const McpServerSchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    name: z.string(),
    url: z.string(),
    enabled: z.boolean(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('McpServer', { description: 'A remote MCP server; its tools are named mcp__{name}__{tool}. Header values are never returned.' })

export const create = createRoute({
  method: 'post',
  path: '/v1/workspaces/{id}/mcp-servers',
  tags,
  summary: 'Add an MCP server to a workspace (admins and owners)',
  ...access('admin'),
  request: { params: WorkspaceParams, ...jsonBody(z.object({ name: Name, url: Url, headers: Headers.optional(), enabled: z.boolean().optional() })) },
  responses: { 201: jsonContent(McpServerSchema, 'Created'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const list = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/mcp-servers',
  tags,
  summary: "A workspace's MCP servers (admins and owners)",
  ...access('admin'),
  request: { params: WorkspaceParams, query: PageQuerySchema },
  responses: { 200: jsonContent(listOf(McpServerSchema).openapi('McpServerList'), 'MCP servers'), ...errorResponses(400, 401, 403, 404) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/workspaces/{id}/mcp-servers/{serverId}',
  tags,
  summary: 'One MCP server (admins and owners)',
  ...access('admin'),
  request: { params: ServerParams },
  responses: { 200: jsonContent(McpServerSchema, 'The MCP server'), ...errorResponses(401, 403, 404) },
})

export const update = createRoute({
  method: 'patch',
  path: '/v1/workspaces/{id}/mcp-servers/{serverId}',
  tags,
  summary: 'Change an MCP server (admins and owners); headers replace the stored ones',
  ...access('admin'),
  request: {
    params: ServerParams,
    ...jsonBody(z.object({ name: Name.optional(), url: Url.optional(), headers: Headers.nullable().optional(), enabled: z.boolean().optional() })),
  },
  responses: { 200: jsonContent(McpServerSchema, 'The MCP server'), ...errorResponses(400, 401, 403, 404, 409, 413, 415) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/workspaces/{id}/mcp-servers/{serverId}',
  tags,
  summary: 'Remove an MCP server (admins and owners)',
  ...access('admin'),
  request: { params: ServerParams },
  responses: { 204: { description: 'Removed' }, ...errorResponses(401, 403, 404) },
})
