/**
 * A small MCP client over Streamable HTTP: what the app needs of the protocol (tools/list and tools/call), for
 * servers of the stateless 2026-07-28 revision (per-request `_meta` envelope, found with `server/discover`) and of the
 * 2025 revisions (an `initialize` handshake and an `Mcp-Session-Id`), such as those built with the SDK 1.x. Web APIs
 * only (fetch, streams), so it runs on every runtime.
 */
export const MODERN_VERSION = '2026-07-28'
export const LEGACY_VERSION = '2025-11-25'
const CLIENT_INFO = { name: 'edgechat', version: '1.0.0' }

export interface McpEndpoint {
  url: string
  /** Sent with every request (an Authorization header, an API key). */
  headers: Record<string, string>
  fetch?: typeof fetch
}

export interface McpTool {
  name: string
  description?: string | undefined
  inputSchema: Record<string, unknown>
}

export interface McpCallResult {
  content: { type: string; text?: string; [key: string]: unknown }[]
  structuredContent?: unknown
  isError?: boolean
}

/** The server could not be reached, or answered with an error. The message is safe to show to the model. */
export class McpError extends Error {
  override name = 'McpError'
}

interface JsonRpcResponse {
  id?: unknown
  result?: unknown
  error?: { code: number; message: string }
}

type Era = 'modern' | 'legacy'

/** One conversation with a server: the era it speaks, and a session for legacy servers. */
export class McpSession {
  private nextId = 1
  private sessionId: string | null = null
  /** The revision in use: sent as MCP-Protocol-Version (a legacy server's only once `initialize` settled it). */
  private version: string | null = MODERN_VERSION

  private constructor(
    private readonly endpoint: McpEndpoint,
    private readonly era: Era,
  ) {}

  /**
   * Opens a session: `era` when known from an earlier session with this server, else found out by probing with
   * `server/discover` (a 2026-07-28 server answers it) and falling back to `initialize`.
   */
  static async open(endpoint: McpEndpoint, signal: AbortSignal, era?: Era): Promise<McpSession> {
    if (era !== 'legacy') {
      const modern = new McpSession(endpoint, 'modern')
      if (await modern.discover(signal, era === 'modern')) return modern
    }
    const legacy = new McpSession(endpoint, 'legacy')
    await legacy.initialize(signal)
    return legacy
  }

  get kind(): Era {
    return this.era
  }

  async listTools(signal: AbortSignal): Promise<McpTool[]> {
    const tools: McpTool[] = []
    let cursor: string | undefined
    for (let page = 0; page < 20; page++) {
      const result = (await this.request('tools/list', cursor ? { cursor } : {}, signal)) as { tools?: unknown; nextCursor?: unknown }
      if (!Array.isArray(result?.tools)) throw new McpError('The MCP server answered tools/list without a tool list')
      for (const tool of result.tools as McpTool[]) {
        if (typeof tool?.name === 'string') tools.push({ name: tool.name, description: typeof tool.description === 'string' ? tool.description : undefined, inputSchema: isObject(tool.inputSchema) ? tool.inputSchema : { type: 'object' } })
      }
      if (typeof result.nextCursor !== 'string' || result.nextCursor === '') break
      cursor = result.nextCursor
    }
    return tools
  }

  async callTool(name: string, args: unknown, signal: AbortSignal): Promise<McpCallResult> {
    const result = (await this.request('tools/call', { name, arguments: isObject(args) ? args : {} }, signal, name)) as McpCallResult
    if (!isObject(result) || !Array.isArray(result.content)) throw new McpError('The MCP server answered tools/call without content')
    return result
  }

  /** Ends a legacy session (best effort). */
  async close(): Promise<void> {
    if (this.era !== 'legacy' || !this.sessionId) return
    await this.fetch(this.endpoint.url, { method: 'DELETE', headers: this.headers(), redirect: 'manual' }).then(
      (response) => response.body?.cancel(),
      () => {},
    )
  }

  private async discover(signal: AbortSignal, known: boolean): Promise<boolean> {
    let result: unknown
    try {
      result = await this.request('server/discover', {}, signal)
    } catch (error) {
      if (known || !(error instanceof McpProtocolRefusal)) throw error
      return false
    }
    const versions = isObject(result) && Array.isArray(result.supportedVersions) ? result.supportedVersions : []
    return versions.includes(MODERN_VERSION)
  }

  private async initialize(signal: AbortSignal): Promise<void> {
    this.version = null
    const result = (await this.request('initialize', { protocolVersion: LEGACY_VERSION, capabilities: {}, clientInfo: CLIENT_INFO }, signal)) as { protocolVersion?: unknown }
    this.version = typeof result?.protocolVersion === 'string' ? result.protocolVersion : LEGACY_VERSION
    await this.notify('notifications/initialized', signal)
  }

  private headers(extra: Record<string, string> = {}): Headers {
    const headers = new Headers(this.endpoint.headers)
    headers.set('accept', 'application/json, text/event-stream')
    headers.set('content-type', 'application/json')
    if (this.version) headers.set('mcp-protocol-version', this.version)
    if (this.sessionId) headers.set('mcp-session-id', this.sessionId)
    for (const [key, value] of Object.entries(extra)) headers.set(key, value)
    return headers
  }

  private fetch(url: string, init: RequestInit): Promise<Response> {
    return (this.endpoint.fetch ?? fetch)(url, init)
  }

  private async notify(method: string, signal: AbortSignal): Promise<void> {
    const response = await this.post({ jsonrpc: '2.0', method }, {}, signal)
    await response.body?.cancel()
    if (!response.ok) throw new McpError(`The MCP server refused ${method} (HTTP ${response.status})`)
  }

  private async request(method: string, params: Record<string, unknown>, signal: AbortSignal, name?: string): Promise<unknown> {
    const id = this.nextId++
    const extra: Record<string, string> = {}
    if (this.era === 'modern') {
      params = { ...params, _meta: { 'io.modelcontextprotocol/protocolVersion': this.version, 'io.modelcontextprotocol/clientInfo': CLIENT_INFO, 'io.modelcontextprotocol/clientCapabilities': {} } }
      extra['mcp-method'] = method
      if (name !== undefined) extra['mcp-name'] = name
    }
    const response = await this.post({ jsonrpc: '2.0', id, method, params }, extra, signal)
    if (method === 'initialize') this.sessionId = response.headers.get('mcp-session-id')
    if (!response.ok) {
      await response.body?.cancel()
      const refusal = response.status >= 400 && response.status < 500 && response.status !== 401 && response.status !== 403
      throw refusal ? new McpProtocolRefusal(`The MCP server refused ${method} (HTTP ${response.status})`) : new McpError(`The MCP server answered ${method} with HTTP ${response.status}`)
    }
    const message = await readResponse(response, id)
    if (message.error) throw new McpProtocolRefusal(`The MCP server answered ${method} with an error: ${String(message.error.message).slice(0, 500)}`)
    return message.result
  }

  private async post(body: object, extra: Record<string, string>, signal: AbortSignal): Promise<Response> {
    try {
      // A redirect is not followed (it could lead to an address the URL check refused): it is an error answer.
      return await this.fetch(this.endpoint.url, { method: 'POST', headers: this.headers(extra), body: JSON.stringify(body), signal, redirect: 'manual' })
    } catch (error) {
      if (signal.aborted) throw signal.reason
      throw new McpError(`The MCP server could not be reached: ${error instanceof Error ? error.message : String(error)}`)
    }
  }
}

/** A 4xx or JSON-RPC error: the server is there but will not do this (to a probe: it speaks an older revision). */
class McpProtocolRefusal extends McpError {}

/** The JSON-RPC response numbered `id`: the body itself, or the first matching message of an SSE stream. */
async function readResponse(response: Response, id: number): Promise<JsonRpcResponse> {
  const type = response.headers.get('content-type') ?? ''
  if (type.includes('text/event-stream')) {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    let buffer = ''
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (value) buffer += value.replace(/\r\n?/g, '\n')
        let end: number
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5))
            .join('\n')
          if (!data) continue
          const message = match(parseJson(data), id)
          if (message) return message
        }
        if (done) throw new McpError('The MCP server ended its event stream without an answer')
      }
    } finally {
      void reader.cancel().catch(() => {})
    }
  }
  const message = match(parseJson(await response.text()), id)
  if (!message) throw new McpError('The MCP server answered without a JSON-RPC response')
  return message
}

function match(value: unknown, id: number): JsonRpcResponse | null {
  const messages = Array.isArray(value) ? value : [value]
  for (const message of messages) if (isObject(message) && message.id === id && ('result' in message || 'error' in message)) return message as JsonRpcResponse
  return null
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new McpError('The MCP server answered with something that is not JSON')
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
