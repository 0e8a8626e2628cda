import { createRoute, z } from '@hono/zod-openapi'
import { errorResponses } from '../../errors'
import { PageQuerySchema, listOf } from '../../lib/pagination'
import { storedName } from '../../lib/text'
import { access } from '../../middleware/scopes'
import { jsonBody, jsonContent, pathId } from '../../schemas'
import { InferenceSchema } from '../conversations/conversations.routes'

const tags = ['Assistants']
const Params = z.object({ id: pathId('ast_01J...') })
const ToolNames = z.array(z.string().min(1).max(200)).max(64).openapi({ description: 'Server-side tools (GET /v1/tools): built-in names or mcp__{server}__{tool}' })
const Task = z.string().min(1).max(100).openapi({ description: 'A task handler (GET /v1/tasks); default chat' })

export const AssistantSchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    name: z.string(),
    description: z.string().nullable(),
    modelId: z.string().nullable().openapi({ description: 'Null: the default model' }),
    systemPrompt: z.string().nullable(),
    inference: InferenceSchema,
    tools: z.array(z.string()),
    task: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Assistant')

const Fields = {
  name: storedName(200),
  description: z.string().max(2_000).nullable(),
  modelId: z.string().min(1).max(300).nullable(),
  systemPrompt: z.string().max(100_000).nullable(),
  inference: InferenceSchema,
  tools: ToolNames,
  task: Task,
}

/** What an assistant is made of: its name, and what conversations created with it copy. */
const AssistantFields = z.object({
  name: Fields.name,
  description: Fields.description.optional(),
  modelId: Fields.modelId.optional(),
  systemPrompt: Fields.systemPrompt.optional(),
  inference: Fields.inference.optional(),
  tools: Fields.tools.optional(),
  task: Fields.task.optional(),
})

export const create = createRoute({
  method: 'post',
  path: '/v1/assistants',
  tags,
  summary: 'Create an assistant (admins and owners of the workspace)',
  ...access('admin'),
  request: jsonBody(
    AssistantFields.extend({
      workspaceId: z.string().min(1).max(100).optional().openapi({ description: 'Default: the API key’s workspace, else your personal workspace' }),
    }),
  ),
  responses: { 201: jsonContent(AssistantSchema, 'Created'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const list = createRoute({
  method: 'get',
  path: '/v1/assistants',
  tags,
  summary: "A workspace's assistants (every member reads them), oldest first",
  ...access('read'),
  request: { query: PageQuerySchema.extend({ workspaceId: z.string().min(1).max(100).optional() }) },
  responses: { 200: jsonContent(listOf(AssistantSchema).openapi('AssistantList'), 'Assistants'), ...errorResponses(400, 401, 403, 404) },
})

export const get = createRoute({
  method: 'get',
  path: '/v1/assistants/{id}',
  tags,
  summary: 'One assistant (404 outside its workspace)',
  ...access('read'),
  request: { params: Params },
  responses: { 200: jsonContent(AssistantSchema, 'The assistant'), ...errorResponses(401, 403, 404) },
})

export const update = createRoute({
  method: 'patch',
  path: '/v1/assistants/{id}',
  tags,
  summary: 'Change an assistant (admins and owners)',
  ...access('admin'),
  request: {
    params: Params,
    ...jsonBody(AssistantFields.partial()),
  },
  responses: { 200: jsonContent(AssistantSchema, 'The assistant'), ...errorResponses(400, 401, 403, 404, 413, 415) },
})

export const remove = createRoute({
  method: 'delete',
  path: '/v1/assistants/{id}',
  tags,
  summary: 'Delete an assistant (admins and owners); its conversations keep working',
  ...access('admin'),
  request: { params: Params },
  responses: { 204: { description: 'Deleted' }, ...errorResponses(401, 403, 404) },
})
