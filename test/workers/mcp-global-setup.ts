// Runs in Node before the workers project: real MCP servers (test/mcp-servers.ts) the Worker under test reaches over
// loopback HTTP, their URLs handed to the tests with provide/inject.
import type { TestProject } from 'vitest/node'
import { startV1Server, startV2Server } from '../mcp-servers'

declare module 'vitest' {
  export interface ProvidedContext {
    mcpServers: { legacy: string; modern: string }
  }
}

export default async function setup(project: TestProject) {
  const [legacy, modern] = await Promise.all([startV1Server(), startV2Server()])
  project.provide('mcpServers', { legacy: legacy.url, modern: modern.url })
  return async () => {
    await Promise.all([legacy.close(), modern.close()])
  }
}
