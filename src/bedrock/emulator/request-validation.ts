/** Bedrock's own ValidationException checks for a Converse request, with its wording. Returns the message or undefined. */

type Json = Record<string, unknown>

const BLOCK_KINDS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent'])
const MAX_IMAGE_BYTES = 3.75 * 1024 * 1024
const MAX_DOCUMENT_BYTES = 4.5 * 1024 * 1024

export function validateConverseRequest(body: unknown): string | undefined {
  if (!isObject(body)) return 'Malformed input request, please reformat your input and try again.'
  const { messages, system, inferenceConfig, toolConfig } = body
  if (!Array.isArray(messages) || messages.length === 0) {
    return "1 validation error detected: Value '[]' at 'messages' failed to satisfy constraint: Member must have length greater than or equal to 1"
  }
  let images = 0
  let documents = 0
  let usesTools = false
  let previousToolUses: string[] = []
  for (let i = 0; i < messages.length; i++) {
    const message: unknown = messages[i]
    if (!isObject(message)) return `Malformed message at messages.${i}.`
    if (message.role !== 'user' && message.role !== 'assistant') {
      return `1 validation error detected: Value '${String(message.role)}' at 'messages.${i + 1}.member.role' failed to satisfy constraint: Member must satisfy enum value set: [user, assistant]`
    }
    if (i === 0 && message.role !== 'user') return 'A conversation must start with a user message. Try again with a conversation that starts with a user message.'
    if (i > 0 && (messages[i - 1] as Json).role === message.role) {
      return 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.'
    }
    const content = message.content
    if (!Array.isArray(content) || content.length === 0) {
      return `The content field in the Message object at messages.${i} is empty. Add a ContentBlock object to the content field and try again.`
    }
    const toolUses: string[] = []
    const toolResults: string[] = []
    for (let j = 0; j < content.length; j++) {
      const block: unknown = content[j]
      const where = `messages.${i}.content.${j}`
      if (!isObject(block)) return `Malformed ContentBlock at ${where}.`
      const kinds = Object.keys(block).filter((key) => BLOCK_KINDS.has(key))
      if (kinds.length !== 1) return `The ContentBlock object at ${where} must set exactly one of the content fields.`
      if ('text' in block && (typeof block.text !== 'string' || block.text.trim() === '')) {
        return `The text field in the ContentBlock object at ${where} is blank. Add text to the text field, and try again.`
      }
      if (isObject(block.image)) {
        images++
        if (base64Bytes(block.image) > MAX_IMAGE_BYTES) return `The image at ${where} exceeds the 3.75 MB limit.`
      }
      if (isObject(block.document)) {
        documents++
        if (base64Bytes(block.document) > MAX_DOCUMENT_BYTES) return `The document at ${where} exceeds the 4.5 MB limit.`
      }
      if (isObject(block.toolUse)) toolUses.push(String(block.toolUse.toolUseId))
      if (isObject(block.toolResult)) toolResults.push(String(block.toolResult.toolUseId))
    }
    if (toolUses.length > 0 || toolResults.length > 0) usesTools = true
    if (message.role === 'assistant' && toolResults.length > 0) return `messages.${i} is an assistant message and cannot contain toolResult blocks.`
    if (message.role === 'user' && toolUses.length > 0) return `messages.${i} is a user message and cannot contain toolUse blocks.`
    const missing = previousToolUses.filter((id) => !toolResults.includes(id))
    if (missing.length > 0) return `Expected toolResult blocks at messages.${i}.content for the following Ids: ${missing.join(', ')}`
    if (toolResults.some((id) => !previousToolUses.includes(id))) {
      return `The number of toolResult blocks at messages.${i}.content exceeds the number of toolUse blocks of previous turn.`
    }
    previousToolUses = toolUses
  }
  if (usesTools && !isObject(toolConfig)) return 'The toolConfig field must be defined when using toolUse and toolResult content blocks.'
  if (images > 20) return 'Too many images: a request can contain at most 20 images.'
  if (documents > 5) return 'Too many documents: a request can contain at most 5 documents.'
  if (system !== undefined) {
    if (!Array.isArray(system)) return 'Malformed system field.'
    for (let i = 0; i < system.length; i++) {
      const block: unknown = system[i]
      if (isObject(block) && 'text' in block && (typeof block.text !== 'string' || block.text.trim() === '')) {
        return `The text field in the SystemContentBlock object at system.${i} is blank. Add text to the text field, and try again.`
      }
    }
  }
  if (inferenceConfig !== undefined) {
    if (!isObject(inferenceConfig)) return 'Malformed inferenceConfig field.'
    const maxTokens = inferenceConfig.maxTokens
    if (maxTokens !== undefined && (!Number.isInteger(maxTokens) || (maxTokens as number) < 1)) {
      return "1 validation error detected: Value at 'inferenceConfig.maxTokens' failed to satisfy constraint: Member must have value greater than or equal to 1"
    }
  }
  return undefined
}

function base64Bytes(media: Json): number {
  const source = media.source
  const bytes = isObject(source) ? source.bytes : undefined
  return typeof bytes === 'string' ? Math.floor((bytes.length * 3) / 4) : 0
}

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
