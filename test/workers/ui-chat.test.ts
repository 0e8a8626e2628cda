// The AI SDK UI message stream routes through the Worker entry inside workerd (D1, the in-process emulator, the
// isolate's memory hub), read by the official `ai` client: DefaultChatTransport with its fetch pointed at the entry.
import { env, exports } from 'cloudflare:workers'
import { DefaultChatTransport, readUIMessageStream, type UIMessage, type UIMessageChunk } from 'ai'
import { describe, expect, it } from 'vitest'
import { call, expectProblem, ORIGIN, register, request, type Registered } from './helpers'

const transportFor = (user: Registered) =>
  new DefaultChatTransport<UIMessage>({
    api: `${ORIGIN}/v1/ui/chat`,
    headers: { Authorization: `Bearer ${user.accessToken}` },
    fetch: (input, init) => exports.default.fetch(input as string, init),
  })

const userMessage = (text: string, id: string = crypto.randomUUID()): UIMessage => ({ id, role: 'user', parts: [{ type: 'text', text }] })
const textOf = (parts: { type: string; text?: string }[]) => parts.filter((part) => part.type === 'text').map((part) => part.text).join('')

async function read(stream: ReadableStream<UIMessageChunk>) {
  const errors: string[] = []
  let message: UIMessage | undefined
  for await (const snapshot of readUIMessageStream<UIMessage>({ stream, onError: (error) => errors.push(String(error)) })) message = snapshot
  if (!message) throw new Error('no message arrived')
  return { message, errors }
}

const send = async (user: Registered, chatId: string, messages: UIMessage[], trigger: 'submit-message' | 'regenerate-message' = 'submit-message') =>
  read(await transportFor(user).sendMessages({ chatId, messages, trigger, messageId: undefined, abortSignal: undefined }))

async function storedMessages(conversationId: string) {
  const { results } = await env.DB.prepare('SELECT id, parent_id, role, status, parts FROM messages WHERE conversation_id = ? ORDER BY id')
    .bind(conversationId)
    .all<{ id: string; parent_id: string | null; role: string; status: string; parts: string }>()
  return results.map((row) => ({ ...row, text: textOf(JSON.parse(row.parts)) }))
}

const conversationOf = (message: UIMessage) => (message.metadata as { conversationId: string }).conversationId

describe('AI SDK UI message stream under workerd', () => {
  it('streams an answer, keeps the history on the server and maps a client chat id to one conversation', async () => {
    const user = await register('ui')
    const chatId = `chat-${crypto.randomUUID()}`
    const raw = await request('POST', '/v1/ui/chat', { token: user.accessToken, json: { id: chatId, messages: [userMessage('Hi [[emulator tokens=2]]')], trigger: 'submit-message' } })
    expect(raw.status).toBe(200)
    expect(raw.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    expect(await raw.text()).toMatch(/^data: \{"type":"start","messageId":"msg_[^]*data: \{"type":"finish"[^]*data: \[DONE\]\n\n$/)

    const first = await send(user, chatId, [userMessage('Again [[emulator tokens=3]]')])
    expect(first.errors).toEqual([])
    const conversationId = conversationOf(first.message)
    const history = [userMessage('Hi [[emulator tokens=2]]'), first.message, userMessage('More [[emulator tokens=2]]')]
    const second = await send(user, chatId, history)
    expect(conversationOf(second.message)).toBe(conversationId)
    const stored = await storedMessages(conversationId)
    expect(stored.map((row) => row.role)).toEqual(['user', 'assistant', 'user', 'assistant', 'user', 'assistant'])
    expect(stored[4]!.parent_id).toBe(first.message.id)
    expect(second.message.id).toBe(stored[5]!.id)
    expect(textOf(second.message.parts as { type: string; text?: string }[])).toBe(stored[5]!.text)

    // Regenerate: a new assistant message under the same user message.
    const again = await send(user, chatId, history, 'regenerate-message')
    const after = await storedMessages(conversationId)
    expect(after).toHaveLength(7)
    expect(after[6]!.id).toBe(again.message.id)
    expect(after[6]!.parent_id).toBe(stored[4]!.id)
  })

  it('resumes the active generation with the same message id, stops it keeping the partial text, and is 204 when idle', async () => {
    const user = await register('ui-resume')
    const chatId = `resume-${crypto.randomUUID()}`
    const idle = await request('GET', `/v1/ui/chat/${chatId}/stream`, { token: user.accessToken })
    expect(idle.status).toBe(204)

    const abort = new AbortController()
    const stream = await transportFor(user).sendMessages({ chatId, messages: [userMessage('Slow [[emulator tokens=200 delay=30]]')], trigger: 'submit-message', messageId: undefined, abortSignal: abort.signal })
    const reader = stream.getReader()
    let start: { messageId?: string; messageMetadata?: unknown } | undefined
    while (!start) {
      const { value } = await reader.read()
      if (value?.type === 'start') start = value
    }
    abort.abort()
    await reader.cancel().catch(() => {})
    const conversationId = (start.messageMetadata as { conversationId: string }).conversationId

    const resumed = await transportFor(user).reconnectToStream({ chatId, abortSignal: undefined })
    expect(resumed).not.toBeNull()
    const replay = resumed!.getReader()
    const first = await replay.read()
    expect(first.value).toMatchObject({ type: 'start', messageId: start.messageId })
    const chunks: UIMessageChunk[] = []
    while (!chunks.some((chunk) => chunk.type === 'text-delta')) {
      const { value, done } = await replay.read()
      if (done) throw new Error('the replay ended early')
      chunks.push(value)
    }

    const stop = await call('POST', `/v1/ui/chat/${chatId}/stop`, { token: user.accessToken, json: {} })
    expect(stop.status, stop.text).toBe(200)
    expect(stop.body).toMatchObject({ success: true, stopped: true })
    for (;;) {
      const { value, done } = await replay.read()
      if (done) break
      chunks.push(value)
    }
    expect(chunks.at(-1)).toMatchObject({ type: 'abort' })
    const stored = await storedMessages(conversationId)
    expect(stored[1]!.status).toBe('cancelled')
    expect(stored[1]!.text.length).toBeGreaterThan(0)
    expect((await request('GET', `/v1/ui/chat/${chatId}/stream`, { token: user.accessToken })).status).toBe(204)
    expectProblem(await call('GET', `/v1/ui/chat/${conversationId}/stream`, { token: (await register('ui-other')).accessToken }), 404, 'not_found')
  })
})
