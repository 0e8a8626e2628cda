import { OpenAPIHono, z } from '@hono/zod-openapi'
import type { ToolDefinition } from '../models/model-client'

/** What a tool call gave back: its output (text or JSON) and whether the tool failed (the model is told so). */
export interface ToolOutcome {
  output: unknown
  isError: boolean
}

export interface ToolRunOptions {
  /** Aborts at a cancel of the turn or the call's timeout. */
  signal: AbortSignal
}

/** A tool the server runs itself: built into the app (src/tools/builtin/) or reached on an MCP server. */
export interface ServerTool {
  name: string
  description: string
  /** JSON Schema of the input, as Converse `toolConfig` and GET /v1/tools show it. */
  inputSchema: Record<string, unknown>
  source: 'builtin' | 'mcp'
  /** The MCP server's name, for `source: "mcp"`. */
  server?: string | undefined
  run(input: unknown, options: ToolRunOptions): Promise<ToolOutcome>
}

/** A tool input the model got wrong: the message goes back to the model as an error result. */
export class ToolInputError extends Error {}

/**
 * A zod schema's JSON Schema (its input side), made by the generator that writes the OpenAPI document: the app's one
 * way from zod to JSON Schema (the Worker bundle leaves zod's own generator out: wrangler.toml). Plain schemas only: a
 * part named with `.openapi(name)` would become a `$ref` into a document that is not there.
 */
function inputJsonSchema(schema: z.ZodType): Record<string, unknown> {
  const generator = new OpenAPIHono()
  generator.openAPIRegistry.register('Input', schema)
  return generator.getOpenAPI31Document({ openapi: '3.1.0', info: { title: '', version: '' } }).components!.schemas!.Input as Record<string, unknown>
}

/**
 * A built-in tool from a zod input schema: the schema is its JSON Schema for the model, and checks what the model
 * sends (a bad input is an error result the model sees, never a failed turn).
 */
export function defineTool<I extends z.ZodType>(definition: {
  name: string
  description: string
  input: I
  run(input: z.output<I>, options: ToolRunOptions): Promise<unknown> | unknown
}): ServerTool {
  const inputSchema = inputJsonSchema(definition.input)
  return {
    name: definition.name,
    description: definition.description,
    inputSchema,
    source: 'builtin',
    async run(input, options) {
      const parsed = definition.input.safeParse(input)
      if (!parsed.success) {
        const issues = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'input'}: ${issue.message}`)
        return { output: `Invalid input for ${definition.name}: ${issues.join('; ')}`, isError: true }
      }
      try {
        return { output: await definition.run(parsed.data, options), isError: false }
      } catch (error) {
        if (error instanceof ToolInputError) return { output: error.message, isError: true }
        throw error
      }
    },
  }
}

/** The tool as the model is told about it. */
export const toolDefinition = (tool: Pick<ServerTool, 'name' | 'description' | 'inputSchema'>): ToolDefinition => ({
  name: tool.name,
  description: tool.description,
  inputSchema: tool.inputSchema,
})
