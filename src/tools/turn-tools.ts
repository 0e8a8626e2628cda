import { z } from '@hono/zod-openapi'
import { AppError, type FieldError } from '../errors'
import type { ToolDefinition } from '../models/model-client'
import type { Part } from '../chat/parts'
import type { Services } from '../types'
import { TOOL_NAME } from './registry'

export const ClientToolSchema = z
  .object({
    name: z.string().regex(TOOL_NAME, 'must be 1-64 letters, digits, _ or -'),
    description: z.string().max(10_000).optional(),
    inputSchema: z.record(z.string(), z.unknown()).openapi({ description: 'JSON Schema of the input' }),
  })
  .openapi('ClientTool', { description: 'A tool the client runs: a call to it ends the turn with stopReason tool_use; answer with tool_result parts in the next turn' })

export const TurnToolsSchema = z
  .array(z.union([z.string().min(1).max(200), ClientToolSchema]))
  .max(64)
  .openapi({ description: 'Tools for this turn besides the conversation’s: a server-side tool by name (GET /v1/tools), or a client-side tool declared in full' })

export const TaskNameSchema = z.string().min(1).max(100).openapi({ description: 'The task handler to run (GET /v1/tasks); default the conversation’s, else chat' })

export type TurnTool = z.infer<typeof TurnToolsSchema>[number]

/** What a turn runs with, beyond its messages: its task, and its tools (server-side by name, client-side declared). */
export interface TurnToolPlan {
  task: string
  workspaceId: string
  tools: string[]
  clientTools: ToolDefinition[]
}

/** A 400 naming each field at fault. */
export const invalidFields = (errors: FieldError[]) => new AppError('validation_failed', errors.map((error) => `${error.path}: ${error.message}`).join('; '), { errors })

/**
 * The turn's task and tools: the conversation's (copied from its assistant), then the turn's own. 400 for an unknown
 * task or server-side tool, or a client-side tool named like a server-side one (`tools.N`, `task`).
 */
export async function planTurnTools(
  services: Services,
  conversation: { workspaceId: string; tools: string[] | null; task: string | null },
  input: { tools?: readonly TurnTool[] | undefined; task?: string | undefined },
): Promise<TurnToolPlan> {
  const task = input.task ?? conversation.task ?? 'chat'
  const errors: FieldError[] = []
  if (!services.tasks.has(task)) errors.push({ path: 'task', message: `Unknown task ${task}: GET /v1/tasks lists them` })
  const named: { index: number; name: string }[] = []
  const clientTools: ToolDefinition[] = []
  input.tools?.forEach((tool, index) => {
    if (typeof tool === 'string') named.push({ index, name: tool })
    else clientTools.push({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema })
  })
  if (named.length > 0) {
    for (const problem of await services.tools.refuse(conversation.workspaceId, named.map((entry) => entry.name))) {
      errors.push({ path: `tools.${named[problem.index]!.index}`, message: problem.message })
    }
  }
  const tools = [...new Set([...(conversation.tools ?? []), ...named.map((entry) => entry.name)])]
  const serverNames = new Set([...tools, ...services.tools.builtin.map((tool) => tool.name)])
  const seen = new Set<string>()
  input.tools?.forEach((tool, index) => {
    if (typeof tool === 'string') return
    if (serverNames.has(tool.name) || tool.name.startsWith('mcp__')) errors.push({ path: `tools.${index}.name`, message: `${tool.name} is the name of a server-side tool` })
    else if (seen.has(tool.name)) errors.push({ path: `tools.${index}.name`, message: `${tool.name} is declared twice` })
    seen.add(tool.name)
  })
  if (errors.length > 0) throw invalidFields(errors)
  return { task, workspaceId: conversation.workspaceId, tools, clientTools }
}

/**
 * A turn's tool_result parts must answer tool calls of the message it follows that are still unanswered (a client-side
 * tool's calls): 400 otherwise, since Bedrock would drop a result that answers nothing.
 */
export function checkToolResults(parts: readonly Part[], previous: { role: string; parts: readonly unknown[] } | undefined): void {
  const results = parts.flatMap((part, index) => (part.type === 'tool_result' ? [{ part, index }] : []))
  if (results.length === 0) return
  const previousParts = previous?.role === 'assistant' ? (previous.parts as Part[]) : []
  const answered = new Set(previousParts.flatMap((part) => (part.type === 'tool_result' ? [part.toolUseId] : [])))
  const open = new Set(previousParts.flatMap((part) => (part.type === 'tool_call' && !answered.has(part.toolUseId) ? [part.toolUseId] : [])))
  const errors: FieldError[] = []
  for (const { part, index } of results) {
    if (!open.has(part.toolUseId)) errors.push({ path: `content.${index}.toolUseId`, message: 'answers no open tool call of the previous assistant message' })
    open.delete(part.toolUseId)
  }
  if (errors.length > 0) throw invalidFields(errors)
}
