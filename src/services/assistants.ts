import * as repo from '../db/repositories/assistants'
import type { AssistantRow } from '../db/repositories/assistants'
import { findPersonalWorkspace } from '../db/repositories/workspaces'
import { AppError, notFound, type FieldError } from '../errors'
import type { InferenceConfig } from '../models/model-client'
import { resolveModelId } from '../models/resolve'
import type { AuthContext, Services } from '../types'
import { workspaceAccess } from './workspace-access'
import { invalidFields } from '../tools/turn-tools'

/** The workspace a request means when it names none: the API key's, else the caller's personal one. */
export async function defaultWorkspaceId(services: Services, auth: AuthContext): Promise<string> {
  if (auth.workspaceScope) return auth.workspaceScope
  const personal = await findPersonalWorkspace(services.db, auth.userId)
  if (!personal) throw new AppError('validation_failed', 'workspaceId: required (you have no personal workspace)', { errors: [{ path: 'workspaceId', message: 'Required' }] })
  return personal.id
}


/** 400 naming each tool an assistant or a turn may not use (`tools.N`), and an unknown task (`task`). */
export async function checkToolsAndTask(services: Services, workspaceId: string, input: { tools?: readonly string[] | undefined; task?: string | undefined }, path = 'tools'): Promise<void> {
  const errors: FieldError[] = []
  if (input.tools?.length) {
    for (const problem of await services.tools.refuse(workspaceId, input.tools)) errors.push({ path: `${path}.${problem.index}`, message: problem.message })
  }
  if (input.task !== undefined && !services.tasks.has(input.task)) {
    errors.push({ path: 'task', message: `Unknown task ${input.task}: GET /v1/tasks lists them` })
  }
  if (errors.length > 0) throw invalidFields(errors)
}

/** The assistant, if the caller may see it (a member of its workspace, whatever the role), else 404. */
async function visibleAssistant(services: Services, auth: AuthContext, id: string): Promise<{ assistant: AssistantRow; role: string }> {
  const assistant = await repo.findAssistant(services.db, id)
  if (!assistant) throw notFound('Assistant')
  try {
    const workspace = await workspaceAccess(services, auth, assistant.workspaceId)
    return { assistant, role: workspace.role }
  } catch (error) {
    if (error instanceof AppError && error.code === 'not_found') throw notFound('Assistant')
    throw error
  }
}

export interface AssistantInput {
  name: string
  description?: string | null | undefined
  modelId?: string | null | undefined
  systemPrompt?: string | null | undefined
  inference?: InferenceConfig | undefined
  tools?: string[] | undefined
  task?: string | undefined
}

export async function createAssistant(services: Services, auth: AuthContext, workspaceId: string, input: AssistantInput): Promise<AssistantRow> {
  await workspaceAccess(services, auth, workspaceId, 'admin')
  const modelId = input.modelId ? resolveModelId(services.config, input.modelId) : null
  await checkToolsAndTask(services, workspaceId, input)
  const now = services.now()
  const row: AssistantRow = {
    id: services.newId('ast'),
    workspaceId,
    name: input.name,
    description: input.description ?? null,
    modelId,
    systemPrompt: input.systemPrompt ?? null,
    inference: input.inference ?? {},
    tools: input.tools ?? [],
    task: input.task ?? 'chat',
    createdBy: auth.userId,
    createdAt: now,
    updatedAt: now,
  }
  await repo.insertAssistant(services.db, row)
  return row
}

export async function listAssistants(services: Services, auth: AuthContext, workspaceId: string, page: { after: string | null; limit: number }): Promise<AssistantRow[]> {
  await workspaceAccess(services, auth, workspaceId)
  return repo.listAssistants(services.db, workspaceId, page)
}

export async function getAssistant(services: Services, auth: AuthContext, id: string): Promise<AssistantRow> {
  return (await visibleAssistant(services, auth, id)).assistant
}

const requireAdmin = (role: string) => {
  if (role !== 'admin' && role !== 'owner') throw new AppError('forbidden', 'Only admins and owners manage assistants')
}

export async function updateAssistant(services: Services, auth: AuthContext, id: string, input: Partial<AssistantInput>): Promise<AssistantRow> {
  const { assistant, role } = await visibleAssistant(services, auth, id)
  requireAdmin(role)
  await checkToolsAndTask(services, assistant.workspaceId, input)
  const changes: Partial<AssistantRow> = { ...input, updatedAt: services.now() }
  if (input.modelId) changes.modelId = resolveModelId(services.config, input.modelId)
  await repo.updateAssistant(services.db, id, changes)
  return { ...assistant, ...changes }
}

/** Its conversations keep the values they copied at creation, so they stay readable and usable. */
export async function deleteAssistant(services: Services, auth: AuthContext, id: string): Promise<void> {
  const { role } = await visibleAssistant(services, auth, id)
  requireAdmin(role)
  await repo.deleteAssistant(services.db, id)
}

/** What a new conversation takes from its assistant; `null`s when it names none. */
export interface ConversationPreset {
  workspaceId?: string
  assistantId: string | null
  modelId?: string | null
  systemPrompt?: string | null
  inference: InferenceConfig | null
  tools: string[] | null
  task: string | null
}

/**
 * The columns a conversation created with `assistantId` copies from the assistant (its model and system prompt
 * unless the request sets its own, its inference settings, tools and task); spread over the new row. The assistant
 * must be in the conversation's workspace (with no workspaceId in the request, the assistant's is used), else 404.
 */
export async function conversationPreset(
  services: Services,
  auth: AuthContext,
  request: { assistantId?: string | undefined; workspaceId?: string | undefined; modelId?: string | undefined; systemPrompt?: string | undefined },
  workspaceId: string,
): Promise<ConversationPreset> {
  if (!request.assistantId) return { assistantId: null, inference: null, tools: null, task: null }
  const { assistant } = await visibleAssistant(services, auth, request.assistantId)
  if (request.workspaceId !== undefined && assistant.workspaceId !== workspaceId) throw notFound('Assistant')
  if (assistant.workspaceId !== workspaceId) await workspaceAccess(services, auth, assistant.workspaceId, 'member')
  return {
    workspaceId: assistant.workspaceId,
    assistantId: assistant.id,
    modelId: request.modelId ? resolveModelId(services.config, request.modelId) : assistant.modelId,
    systemPrompt: request.systemPrompt ?? assistant.systemPrompt,
    inference: assistant.inference,
    tools: assistant.tools,
    task: assistant.task,
  }
}
