import type { Database } from '../db/database'
import { allMcpServers, type McpServerRow } from '../db/repositories/mcp-servers'
import { calculator } from './builtin/calculator'
import { currentTimeTool } from './builtin/current-time'
import { McpError, McpSession, type McpCallResult, type McpEndpoint } from './mcp/client'
import { toolError } from './output'
import type { SecretBox } from './secrets'
import type { ServerTool } from './tool'

/** The built-in server-side tools. */
export const builtinTools = (now: () => Date): ServerTool[] => [currentTimeTool(now), calculator]

/** What Converse accepts as a tool name. */
export const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/
const MCP_PREFIX = 'mcp__'

export const mcpToolName = (server: string, tool: string) => `${MCP_PREFIX}${server}__${tool}`

/** `mcp__{server}__{tool}` split, or null for another name (server names never contain `__`). */
export function parseMcpToolName(name: string): { server: string; tool: string } | null {
  if (!name.startsWith(MCP_PREFIX)) return null
  const rest = name.slice(MCP_PREFIX.length)
  const split = rest.indexOf('__')
  if (split <= 0 || split + 2 >= rest.length) return null
  return { server: rest.slice(0, split), tool: rest.slice(split + 2) }
}

export interface ToolRegistry {
  readonly builtin: readonly ServerTool[]
  /** Seals MCP server header values at rest. */
  readonly secrets: SecretBox
  /** Built-ins, then the tools of the workspace's enabled MCP servers that answer (their lists cached briefly). */
  list(workspaceId: string): Promise<ServerTool[]>
  /**
   * The named tools for a turn. A name that cannot be run now (its MCP server is disabled, gone or unreachable) is
   * still a tool, whose every call is an error result the model sees: a turn never fails for a tool.
   */
  resolve(workspaceId: string, names: readonly string[]): Promise<ServerTool[]>
  /** Why each name an assistant or turn may not use is refused, by index (empty when all are fine). */
  refuse(workspaceId: string, names: readonly string[]): Promise<{ index: number; message: string }[]>
  /** The tools one of the workspace's MCP servers lists, or why not (`refused`: no such server, or it is disabled). */
  serverTools(workspaceId: string, server: string): Promise<{ tools: ServerTool[] } | { problem: string; refused: boolean }>
}

export interface ToolRegistryOptions {
  db: Database
  builtin: readonly ServerTool[]
  secrets: SecretBox
  /** Seconds a server's tool list is reused. */
  cacheSeconds: number
  /** Each MCP request's time limit when listing tools. */
  listTimeoutMs: number
  fetch?: typeof fetch
}

type Listing = { tools: ServerTool[] } | { error: string }

const FAILURE_CACHE_SECONDS = 5

export function createToolRegistry(options: ToolRegistryOptions): ToolRegistry {
  const builtinByName = new Map(options.builtin.map((tool) => [tool.name, tool]))
  /** Per server version (id and updatedAt, so an edit is seen at once here): its listing, and the era it speaks. */
  const listings = new Map<string, { expires: number; listing: Promise<Listing> }>()
  const eras = new Map<string, 'modern' | 'legacy'>()

  async function endpointOf(server: McpServerRow): Promise<McpEndpoint> {
    const headers = server.headers ? (JSON.parse(await options.secrets.open(server.headers)) as Record<string, string>) : {}
    return { url: server.url, headers, ...(options.fetch ? { fetch: options.fetch } : {}) }
  }

  async function withSession<T>(server: McpServerRow, signal: AbortSignal, use: (session: McpSession) => Promise<T>): Promise<T> {
    const session = await McpSession.open(await endpointOf(server), signal, eras.get(server.url))
    eras.set(server.url, session.kind)
    try {
      return await use(session)
    } finally {
      void session.close().catch(() => {})
    }
  }

  function mcpTool(server: McpServerRow, tool: { name: string; description?: string | undefined; inputSchema: Record<string, unknown> }): ServerTool {
    return {
      name: mcpToolName(server.name, tool.name),
      description: tool.description ?? `${tool.name} on the MCP server ${server.name}`,
      inputSchema: tool.inputSchema,
      source: 'mcp',
      server: server.name,
      async run(input, { signal }) {
        try {
          return outcomeOf(await withSession(server, signal, (session) => session.callTool(tool.name, input, signal)))
        } catch (error) {
          if (signal.aborted) throw signal.reason
          if (error instanceof McpError) return toolError(`${error.message} (MCP server ${server.name})`)
          throw error
        }
      },
    }
  }

  async function fetchListing(server: McpServerRow): Promise<Listing> {
    try {
      const signal = AbortSignal.timeout(options.listTimeoutMs)
      const tools = await withSession(server, signal, (session) => session.listTools(signal))
      return { tools: tools.filter((tool) => TOOL_NAME.test(mcpToolName(server.name, tool.name))).map((tool) => mcpTool(server, tool)) }
    } catch (error) {
      if (error instanceof McpError) return { error: error.message }
      if (error instanceof DOMException && error.name === 'TimeoutError') return { error: 'The MCP server did not answer in time' }
      return { error: 'The MCP server could not be used' }
    }
  }

  function listingOf(server: McpServerRow): Promise<Listing> {
    const key = `${server.id}:${server.updatedAt.getTime()}`
    const cached = listings.get(key)
    if (cached && cached.expires > Date.now()) return cached.listing
    const listing = fetchListing(server)
    listings.set(key, { expires: Date.now() + options.cacheSeconds * 1000, listing })
    // A failure is kept only briefly, so a server that hangs does not hold up every turn, and one that is back is seen.
    void listing.then((value) => {
      if ('error' in value) listings.set(key, { expires: Date.now() + Math.min(options.cacheSeconds, FAILURE_CACHE_SECONDS) * 1000, listing })
    })
    return listing
  }

  /**
   * What `name` is in a workspace with `servers`: a tool, or why not — `refused` when the name can never work (an
   * assistant or turn naming it is a 400), else it may work later (a disabled or unreachable server).
   */
  async function lookup(servers: readonly McpServerRow[], name: string): Promise<{ tool: ServerTool } | { problem: string; refused: boolean }> {
    const builtin = builtinByName.get(name)
    if (builtin) return { tool: builtin }
    const parsed = parseMcpToolName(name)
    if (!parsed) return { problem: `Unknown tool ${name}: GET /v1/tools lists the tools`, refused: true }
    const server = servers.find((candidate) => candidate.name === parsed.server)
    if (!server) return { problem: `This workspace has no MCP server named ${parsed.server}`, refused: true }
    if (!server.enabled) return { problem: `The MCP server ${server.name} is disabled`, refused: false }
    const listing = await listingOf(server)
    if ('error' in listing) return { problem: `${listing.error} (MCP server ${server.name})`, refused: false }
    const tool = listing.tools.find((candidate) => candidate.name === name)
    return tool ? { tool } : { problem: `The MCP server ${server.name} has no tool ${parsed.tool}`, refused: true }
  }

  const serversFor = (workspaceId: string, names: readonly string[]) =>
    names.some((name) => !builtinByName.has(name)) ? allMcpServers(options.db, workspaceId) : Promise.resolve([])

  return {
    builtin: options.builtin,
    secrets: options.secrets,

    async list(workspaceId) {
      const servers = (await allMcpServers(options.db, workspaceId)).filter((server) => server.enabled)
      const listed = await Promise.all(servers.map(listingOf))
      return [...options.builtin, ...listed.flatMap((listing) => ('tools' in listing ? listing.tools : []))]
    },

    async resolve(workspaceId, names) {
      const servers = await serversFor(workspaceId, names)
      return Promise.all(
        names.map(async (name): Promise<ServerTool> => {
          const found = await lookup(servers, name)
          if ('tool' in found) return found.tool
          // Still a tool, so the model's call gets an error result it can read, never a failed turn.
          return { name, description: `Unavailable: ${found.problem}`, inputSchema: { type: 'object' }, source: 'mcp', run: () => Promise.resolve(toolError(found.problem)) }
        }),
      )
    },

    async refuse(workspaceId, names) {
      const servers = await serversFor(workspaceId, names)
      const problems = await Promise.all(
        names.map(async (name, index) => {
          if (names.indexOf(name) !== index) return { index, message: `${name} is named twice` }
          const found = await lookup(servers, name)
          return 'problem' in found && found.refused ? { index, message: found.problem } : null
        }),
      )
      return problems.filter((problem) => problem !== null)
    },

    async serverTools(workspaceId, name) {
      const server = (await allMcpServers(options.db, workspaceId)).find((candidate) => candidate.name === name)
      if (!server?.enabled) return { problem: server ? `The MCP server ${name} is disabled` : `This workspace has no MCP server named ${name}`, refused: true }
      const listing = await listingOf(server)
      return 'error' in listing ? { problem: `${listing.error} (MCP server ${name})`, refused: false } : listing
    },
  }
}

/** An MCP tool result as our tool output: its text when it is all text, else its structured content or content. */
function outcomeOf(result: McpCallResult) {
  const texts = result.content.filter((item) => item.type === 'text' && typeof item.text === 'string').map((item) => item.text!)
  const output = texts.length === result.content.length && texts.length > 0 ? texts.join('\n') : (result.structuredContent ?? result.content)
  return { output, isError: result.isError === true }
}
