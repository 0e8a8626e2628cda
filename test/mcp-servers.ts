// Real MCP servers for the tests, built with the official SDKs: a 1.x server (the 2025-11-25 revision, with sessions)
// and a 2.x server (createMcpHandler: the stateless 2026-07-28 revision, with the 2025 fallback). Each records the
// MCP method and protocol version of every request it gets.
import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { McpServer as McpServerV1 } from '@modelcontextprotocol/sdk/server/mcp.js'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import { createMcpHandler, McpServer as McpServerV2 } from '@modelcontextprotocol/server'
import { z } from 'zod'

export const SECRET = 'k3y-only-the-server-knows'

/** An SDK 1.x server with sessions: `add`, `whoami` (the x-api-key header it received) and `broken` (an error result). */
export async function startV1Server() {
  const sessions = new Map<string, StreamableHTTPServerTransport>()
  const seen: { method: string; protocolVersion: string | undefined; sessionId: string | undefined }[] = []
  const newServer = () => {
    const server = new McpServerV1({ name: 'legacy-test', version: '1.0.0' })
    server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } }, ({ a, b }) => ({ content: [{ type: 'text', text: String(a + b) }] }))
    server.registerTool('whoami', { description: 'The API key this request carried' }, (extra) => ({
      content: [{ type: 'text', text: `key=${String(extra.requestInfo?.headers['x-api-key'] ?? 'none')}` }],
    }))
    server.registerTool('broken', { description: 'Always fails' }, () => ({ content: [{ type: 'text', text: 'the database is down' }], isError: true }))
    return server
  }
  const readBody = async (req: IncomingMessage) => {
    let text = ''
    for await (const chunk of req) text += chunk
    return text ? JSON.parse(text) : undefined
  }
  const http: Server = createServer(async (req, res) => {
    const body = req.method === 'POST' ? await readBody(req) : undefined
    const sessionId = req.headers['mcp-session-id'] as string | undefined
    seen.push({ method: body?.method ?? req.method, protocolVersion: req.headers['mcp-protocol-version'] as string | undefined, sessionId })
    let transport = sessionId ? sessions.get(sessionId) : undefined
    if (!transport && body?.method === 'initialize') {
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => void sessions.set(id, transport!) })
      await newServer().connect(transport)
    }
    if (!transport) {
      res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: No valid session ID provided' }, id: null }))
      return
    }
    await transport.handleRequest(req, res, body)
  })
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`, seen, close: () => new Promise<void>((resolve) => http.close(() => resolve())) }
}

/** An SDK 2.x server (createMcpHandler): `multiply` and `whoami`, over the fetch-shaped handler on a Node server. */
export async function startV2Server() {
  const seen: { method: string | null; protocolVersion: string | null }[] = []
  const handler = createMcpHandler((ctx) => {
    const server = new McpServerV2({ name: 'modern-test', version: '2.0.0' })
    server.registerTool('multiply', { description: 'Multiplies two numbers', inputSchema: z.object({ a: z.number(), b: z.number() }) }, ({ a, b }) => ({
      content: [{ type: 'text', text: String(a * b) }],
    }))
    server.registerTool('whoami', { description: 'The API key this request carried' }, () => ({
      content: [{ type: 'text', text: `key=${ctx.requestInfo?.headers.get('x-api-key') ?? 'none'}` }],
    }))
    server.registerTool('slow', { description: 'Answers after 10 seconds' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 10_000).unref())
      return { content: [{ type: 'text', text: 'finally' }] }
    })
    return server
  })
  const http = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve(
      {
        fetch: (request: Request) => {
          seen.push({ method: request.headers.get('mcp-method'), protocolVersion: request.headers.get('mcp-protocol-version') })
          return handler.fetch(request)
        },
        port: 0,
        hostname: '127.0.0.1',
      },
      () => resolve(started),
    )
  })
  return {
    url: `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`,
    seen,
    close: async () => {
      await handler.close()
      await new Promise<void>((resolve) => http.close(() => resolve()))
    },
  }
}
