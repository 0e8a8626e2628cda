import type { ToolDefinition } from '../models/model-client'
import { capOutput, toolError } from './output'
import { toolDefinition, type ServerTool, type ToolOutcome } from './tool'

export interface ToolCall {
  toolUseId: string
  name: string
  input: unknown
}

export interface ToolsetLimits {
  /** Each call's time limit. */
  timeoutMs: number
  /** Characters of output that go back to the model. */
  maxOutputChars: number
}

/**
 * The tools of one turn: those the server runs (built-in and MCP) and those the client declared and answers itself.
 * `definitions` go to the model; `run` runs one server-side call within its time limit, never throwing for the
 * tool's own failures (they are error results the model sees); only a cancel of the turn rejects it.
 */
export interface Toolset {
  definitions: ToolDefinition[]
  /** Whether the server runs `name` (else a call to it ends the turn for the client to answer). */
  runs(name: string): boolean
  run(call: ToolCall, signal: AbortSignal): Promise<ToolOutcome>
}

export const toolLimits = (config: { TOOL_TIMEOUT_SECONDS: number; TOOL_OUTPUT_MAX_CHARS: number }): ToolsetLimits => ({
  timeoutMs: config.TOOL_TIMEOUT_SECONDS * 1000,
  maxOutputChars: config.TOOL_OUTPUT_MAX_CHARS,
})

export function createToolset(server: readonly ServerTool[], client: readonly ToolDefinition[], limits: ToolsetLimits): Toolset {
  const byName = new Map(server.map((tool) => [tool.name, tool]))
  const clientNames = new Set(client.map((tool) => tool.name))
  return {
    definitions: [...server.map(toolDefinition), ...client.filter((tool) => !byName.has(tool.name))],
    runs: (name) => byName.has(name) || !clientNames.has(name),
    async run(call, signal) {
      const tool = byName.get(call.name)
      if (!tool) return toolError(`There is no tool named "${call.name}"`)
      const timeout = new AbortController()
      const timer = setTimeout(() => timeout.abort(new DOMException(`The tool ${call.name} did not finish within ${limits.timeoutMs / 1000} s`, 'TimeoutError')), limits.timeoutMs)
      const both = AbortSignal.any([signal, timeout.signal])
      try {
        const outcome = await new Promise<ToolOutcome>((resolve, reject) => {
          both.addEventListener('abort', () => reject(both.reason), { once: true })
          tool.run(call.input, { signal: both }).then(resolve, reject)
        })
        return capOutput(outcome, limits.maxOutputChars)
      } catch (error) {
        if (signal.aborted) throw signal.reason
        if (timeout.signal.aborted) return toolError((timeout.signal.reason as Error).message)
        return toolError(`The tool ${call.name} failed: ${error instanceof Error ? error.message : String(error)}`)
      } finally {
        clearTimeout(timer)
      }
    },
  }
}
