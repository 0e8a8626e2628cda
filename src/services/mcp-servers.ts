import * as repo from '../db/repositories/mcp-servers'
import type { McpServerRow } from '../db/repositories/mcp-servers'
import { AppError, notFound } from '../errors'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'
import { isPrivateHost } from '../tools/mcp/url-policy'
import { invalidFields } from '../tools/turn-tools'

export interface McpServerInput {
  name: string
  url: string
  headers?: Record<string, string> | null | undefined
  enabled?: boolean | undefined
}

/** 400 for a URL naming this machine or a private network, unless MCP_ALLOW_PRIVATE_URLS (see isPrivateHost). */
function checkUrl(services: Services, url: string | undefined): void {
  if (url === undefined || services.config.MCP_ALLOW_PRIVATE_URLS || !isPrivateHost(new URL(url))) return
  throw invalidFields([{ path: 'url', message: 'must not name localhost or a private network address' }])
}

const taken = (name: string) => new AppError('conflict', `This workspace already has an MCP server named ${name}`)

/** Header values are write-only: sealed here, opened only where a request to the server is made. */
const sealHeaders = (services: Services, headers: Record<string, string> | null | undefined) =>
  headers && Object.keys(headers).length > 0 ? services.tools.secrets.seal(JSON.stringify(headers)) : Promise.resolve(null)

export async function createMcpServer(services: Services, auth: AuthContext, workspaceId: string, input: McpServerInput): Promise<McpServerRow> {
  await workspaceAccess(services, auth, workspaceId, 'admin')
  checkUrl(services, input.url)
  const now = services.now()
  const row: McpServerRow = {
    id: services.newId('mcp'),
    workspaceId,
    name: input.name,
    url: input.url,
    headers: await sealHeaders(services, input.headers),
    enabled: input.enabled ?? true,
    createdAt: now,
    updatedAt: now,
  }
  if (!(await repo.insertMcpServer(services.db, row))) throw taken(input.name)
  return row
}

export async function listMcpServers(services: Services, auth: AuthContext, workspaceId: string, page: { after: string | null; limit: number }): Promise<McpServerRow[]> {
  await workspaceAccess(services, auth, workspaceId, 'admin')
  return repo.listMcpServers(services.db, workspaceId, page)
}

export async function getMcpServer(services: Services, auth: AuthContext, workspaceId: string, id: string): Promise<McpServerRow> {
  await workspaceAccess(services, auth, workspaceId, 'admin')
  const server = await repo.findMcpServer(services.db, workspaceId, id)
  if (!server) throw notFound('MCP server')
  return server
}

export async function updateMcpServer(services: Services, auth: AuthContext, workspaceId: string, id: string, input: Partial<McpServerInput>): Promise<McpServerRow> {
  const server = await getMcpServer(services, auth, workspaceId, id)
  checkUrl(services, input.url)
  const changes: Partial<McpServerRow> = { updatedAt: services.now() }
  if (input.name !== undefined) changes.name = input.name
  if (input.url !== undefined) changes.url = input.url
  if (input.headers !== undefined) changes.headers = await sealHeaders(services, input.headers)
  if (input.enabled !== undefined) changes.enabled = input.enabled
  if (!(await repo.updateMcpServer(services.db, id, changes))) throw taken(input.name ?? server.name)
  return { ...server, ...changes }
}

export async function deleteMcpServer(services: Services, auth: AuthContext, workspaceId: string, id: string): Promise<void> {
  await getMcpServer(services, auth, workspaceId, id)
  await repo.deleteMcpServer(services.db, id)
}
