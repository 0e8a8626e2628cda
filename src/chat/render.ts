import { z } from '@hono/zod-openapi'
import type { ConversationRow } from '../db/repositories/conversations'
import type { GenerationRow } from '../db/repositories/generations'
import type { MessageRow } from '../db/repositories/messages'
import { PartSchema, type Part } from './parts'

const UsageSchema = z.object({ inputTokens: z.number().int(), outputTokens: z.number().int() }).openapi('Usage')

export const ConversationSchema = z
  .object({
    id: z.string(),
    workspaceId: z.string(),
    userId: z.string(),
    assistantId: z.string().nullable(),
    title: z.string().nullable(),
    modelId: z.string().nullable(),
    systemPrompt: z.string().nullable(),
    visibility: z.enum(['private', 'workspace']),
    archived: z.boolean(),
    activeGenerationId: z.string().nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Conversation')

export const MessageSchema = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    parentId: z.string().nullable(),
    role: z.enum(['user', 'assistant']),
    parts: z.array(PartSchema),
    status: z.enum(['streaming', 'complete', 'incomplete', 'failed', 'cancelled']),
    modelId: z.string().nullable(),
    usage: UsageSchema.nullable(),
    stopReason: z.string().nullable(),
    latencyMs: z.number().int().nullable(),
    feedback: z.object({ rating: z.enum(['up', 'down']), comment: z.string().nullable() }).nullable(),
    createdAt: z.string(),
  })
  .openapi('Message')

export const GenerationSchema = z
  .object({
    id: z.string(),
    conversationId: z.string(),
    status: z.enum(['running', 'completed', 'failed', 'cancelled']),
    assistantMessageId: z.string(),
    modelId: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    usage: UsageSchema.nullable(),
    errorCode: z.string().nullable(),
  })
  .openapi('Generation')

export function renderConversation(row: ConversationRow): z.infer<typeof ConversationSchema> {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    userId: row.userId,
    assistantId: row.assistantId,
    title: row.title,
    modelId: row.modelId,
    systemPrompt: row.systemPrompt,
    visibility: row.visibility,
    archived: row.archived,
    activeGenerationId: row.activeGenerationId,
    metadata: row.metadata ?? {},
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export function renderMessage(row: MessageRow): z.infer<typeof MessageSchema> {
  const assistant = row.role === 'assistant'
  return {
    id: row.id,
    conversationId: row.conversationId,
    parentId: row.parentId,
    role: row.role,
    parts: row.parts as Part[],
    status: row.status,
    modelId: assistant ? row.modelId : null,
    usage: assistant && row.inputTokens !== null ? { inputTokens: row.inputTokens, outputTokens: row.outputTokens ?? 0 } : null,
    stopReason: row.stopReason,
    latencyMs: assistant ? row.latencyMs : null,
    feedback: row.feedbackRating ? { rating: row.feedbackRating, comment: row.feedbackComment } : null,
    createdAt: row.createdAt.toISOString(),
  }
}

export function renderGeneration(row: GenerationRow): z.infer<typeof GenerationSchema> {
  return {
    id: row.id,
    conversationId: row.conversationId,
    status: row.status,
    assistantMessageId: row.assistantMessageId,
    modelId: row.modelId,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    usage: row.inputTokens !== null ? { inputTokens: row.inputTokens, outputTokens: row.outputTokens ?? 0 } : null,
    errorCode: row.errorCode,
  }
}

/** Markdown export: a heading per message, text parts verbatim, other parts summarized. */
export function conversationMarkdown(conversation: ConversationRow, messages: MessageRow[]): string {
  const lines = [`# ${conversation.title ?? 'Untitled conversation'}`, '']
  for (const message of messages) {
    lines.push(`## ${message.role === 'user' ? 'User' : 'Assistant'}${message.status === 'complete' ? '' : ` (${message.status})`}`, '')
    for (const part of message.parts as Part[]) {
      if (part.type === 'text') lines.push(part.text)
      else if (part.type === 'reasoning') lines.push(`> ${part.text.replace(/\n/g, '\n> ')}`)
      else if (part.type === 'image') lines.push(`*[image: ${part.format}]*`)
      else if (part.type === 'document') lines.push(`*[document: ${part.name}]*`)
      else if (part.type === 'tool_call') lines.push(`*[tool call: ${part.name}]* \`${JSON.stringify(part.input)}\``)
      else lines.push(`*[tool result]* \`${JSON.stringify(part.content)}\``)
      lines.push('')
    }
  }
  return lines.join('\n')
}
