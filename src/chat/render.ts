import { z } from '@hono/zod-openapi'
import type { ConversationRow, ShownConversation } from '../db/repositories/conversations'
import type { GenerationRow } from '../db/repositories/generations'
import { NO_FEEDBACK, type FeedbackView, type MessageRow } from '../db/repositories/messages'
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
    currentLeafId: z.string().nullable().openapi({ description: 'The last message of the branch shown and continued (a turn without parentId follows it)' }),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Conversation')

const ContextSchema = z
  .object({
    omittedMessages: z.number().int().openapi({ description: 'Earlier messages of the chain not sent to the model' }),
    omittedImages: z.number().int().openapi({ description: 'Images of the chain not sent to the model' }),
    omittedDocuments: z.number().int().openapi({ description: 'Documents of the chain not sent to the model' }),
  })
  .openapi('MessageContext', {
    description: "What of the conversation was left out of the model call to fit the model's limits (attachments per request, context window)",
  })

export const MessageMetadataSchema = z
  .object({ context: ContextSchema.optional() })
  .openapi('MessageMetadata', { description: 'Facts about how an assistant message was produced; null when there are none' })

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
    /** Who sent the turn (user and assistant message alike), and with which API key; null on rows from before authorship. */
    userId: z.string().nullable(),
    apiKeyId: z.string().nullable(),
    feedback: z
      .object({ rating: z.enum(['up', 'down']), comment: z.string().nullable() })
      .nullable()
      .openapi({ description: "The caller's own rating" }),
    feedbackCounts: z.object({ up: z.number().int(), down: z.number().int() }).openapi({ description: 'Ratings by everyone who may read it' }),
    metadata: MessageMetadataSchema.nullable(),
    createdAt: z.string(),
  })
  .openapi('Message')

export const BranchMessageSchema = MessageSchema.extend({
  siblingIds: z
    .array(z.string())
    .openapi({ description: 'The messages answering the same parent (edits of a user message, regenerated answers), itself included, oldest first' }),
}).openapi('BranchMessage')

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

export function renderConversation(row: ShownConversation): z.infer<typeof ConversationSchema> {
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
    currentLeafId: row.currentLeafId,
    metadata: row.metadata ?? {},
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  }
}

export function renderMessage(row: MessageRow, feedback: FeedbackView = NO_FEEDBACK): z.infer<typeof MessageSchema> {
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
    userId: row.userId,
    apiKeyId: row.apiKeyId,
    feedback: feedback.own,
    feedbackCounts: { up: feedback.up, down: feedback.down },
    metadata: (row.metadata as z.infer<typeof MessageMetadataSchema> | null) ?? null,
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

/** Markdown export: the title as a heading, then `messageMarkdown` for each message, oldest first. */
export function conversationMarkdownHeading(conversation: ConversationRow): string {
  return `# ${conversation.title ?? 'Untitled conversation'}\n`
}

/** A heading per message, text parts verbatim, other parts summarized. */
export function messageMarkdown(message: MessageRow): string {
  const lines = ['', `## ${message.role === 'user' ? 'User' : 'Assistant'}${message.status === 'complete' ? '' : ` (${message.status})`}`, '']
  for (const part of message.parts as Part[]) {
    if (part.type === 'text') lines.push(part.text)
    else if (part.type === 'reasoning') lines.push(`> ${part.text.replace(/\n/g, '\n> ')}`)
    else if (part.type === 'image') lines.push(`*[image: ${part.format}]*`)
    else if (part.type === 'document') lines.push(`*[document: ${part.name}]*`)
    else if (part.type === 'tool_call') lines.push(`*[tool call: ${part.name}]* \`${JSON.stringify(part.input)}\``)
    else lines.push(`*[tool result]* \`${JSON.stringify(part.content)}\``)
    lines.push('')
  }
  return lines.join('\n')
}
