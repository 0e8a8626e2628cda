import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { AbstractChat, DefaultChatTransport, readUIMessageStream, type ChatInit, type ChatState, type UIMessage, type UIMessageChunk } from 'ai'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ConverseRequest } from '../../src/bedrock/types'
import { createTestApp, expectProblem, startHttpEmulator, type TestApp } from '../helpers'

let t: TestApp
let emulator: Awaited<ReturnType<typeof startHttpEmulator>>
/** The Bedrock requests the turns sent. */
const requests: ConverseRequest[] = []
let server: ReturnType<typeof serve>
let base: string

beforeAll(async () => {
  emulator = await startHttpEmulator()
  const models = emulator.client({ baseDelayMs: 5 })
  t = await createTestApp(
    {},
    {
      models: {
        converse: (request, options) => models.converse(request, options),
        converseStream: (request, options) => {
          requests.push(request)
          return models.converseStream(request, options)
        },
      },
    },
  )
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const started = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(started))
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
  t.close()
  await emulator.close()
})

type User = Awaited<ReturnType<TestApp['register']>>

const transportFor = (user: User) =>
  new DefaultChatTransport<UIMessage>({ api: `${base}/v1/ui/chat`, headers: { Authorization: `Bearer ${user.accessToken}` } })

/** A Chat with a plain state, as @ai-sdk/react's Chat keeps it in React state. */
class TestChat extends AbstractChat<UIMessage> {
  constructor(init: Omit<ChatInit<UIMessage>, 'state'>) {
    let messages: UIMessage[] = init.messages ?? []
    const state: ChatState<UIMessage> = {
      status: 'ready',
      error: undefined,
      get messages() {
        return messages
      },
      set messages(next) {
        messages = next
      },
      pushMessage: (message) => {
        messages = [...messages, message]
      },
      popMessage: () => {
        messages = messages.slice(0, -1)
      },
      replaceMessage: (index, message) => {
        messages = messages.map((old, at) => (at === index ? message : old))
      },
      snapshot: (thing) => structuredClone(thing),
    }
    super({ ...init, state })
  }
}

const userMessage = (text: string, id: string = crypto.randomUUID()): UIMessage => ({ id, role: 'user', parts: [{ type: 'text', text }] })

const textOf = (message: { parts: { type: string; text?: string }[] }) =>
  message.parts
    .filter((part) => part.type === 'text')
    .map((part) => part.text)
    .join('')

async function send(user: User, chatId: string, messages: UIMessage[], extra: { trigger?: 'submit-message' | 'regenerate-message'; messageId?: string; body?: object } = {}) {
  const stream = await transportFor(user).sendMessages({
    chatId,
    messages,
    trigger: extra.trigger ?? 'submit-message',
    messageId: extra.messageId,
    abortSignal: undefined,
    body: extra.body,
  })
  return read(stream)
}

async function read(stream: ReadableStream<UIMessageChunk>) {
  const errors: string[] = []
  let message: UIMessage | undefined
  for await (const snapshot of readUIMessageStream<UIMessage>({ stream, onError: (error) => errors.push(String(error)) })) message = snapshot
  if (!message) throw new Error('no message arrived')
  return { message, errors }
}

async function storedMessages(user: User, conversationId: string) {
  const res = await user.call('GET', `/v1/conversations/${conversationId}/messages?branch=all&limit=100`)
  expect(res.status).toBe(200)
  return (await res.json()).data as { id: string; parentId: string | null; role: string; status: string; parts: { type: string; text?: string; format?: string }[] }[]
}

const conversationOf = (message: UIMessage) => (message.metadata as { conversationId: string }).conversationId

const until = async (check: () => Promise<boolean> | boolean, ms = 10_000) => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('AI SDK UI message stream', () => {
  it('streams an answer the official client assembles, with the stored ids and the stream headers', async () => {
    const user = await t.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const res = await fetch(`${base}/v1/ui/chat`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({ id: conv.id, messages: [userMessage('Hello there model [[emulator tokens=4]]')], trigger: 'submit-message' }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/event-stream')
    expect(res.headers.get('x-vercel-ai-ui-message-stream')).toBe('v1')
    expect(res.headers.get('x-accel-buffering')).toBe('no')
    expect(res.headers.get('cache-control')).toBe('no-cache')
    const body = await res.text()
    expect(body.endsWith('data: [DONE]\n\n')).toBe(true)
    const types = body
      .split('\n\n')
      .filter((frame) => frame.startsWith('data: {'))
      .map((frame) => (JSON.parse(frame.slice(6)) as { type: string }).type)
    expect(types).toEqual(['start', 'start-step', 'text-start', 'text-delta', 'text-delta', 'text-delta', 'text-delta', 'text-end', 'finish-step', 'finish'])

    const { message, errors } = await send(user, conv.id, [userMessage('Once more [[emulator tokens=3]]')])
    expect(errors).toEqual([])
    const stored = await storedMessages(user, conv.id)
    expect(stored).toHaveLength(4)
    const assistant = stored[3]!
    expect(message.id).toBe(assistant.id)
    expect(message.role).toBe('assistant')
    expect(textOf(message)).toBe(textOf(assistant))
    expect(textOf(message).length).toBeGreaterThan(0)
    expect(message.metadata).toMatchObject({ conversationId: conv.id, generationId: expect.stringMatching(/^gen_/), stopReason: 'end_turn' })
    expect((message.metadata as { usage: { outputTokens: number } }).usage.outputTokens).toBeGreaterThan(0)
  })

  it('keeps the history on the server: a client resending it all adds one user and one assistant message', async () => {
    const user = await t.register()
    const chat = new TestChat({ id: crypto.randomUUID(), transport: transportFor(user) })
    await chat.sendMessage({ text: 'First question [[emulator tokens=2]]' })
    expect(chat.status).toBe('ready')
    await chat.sendMessage({ text: 'Second question [[emulator tokens=2]]' })
    expect(chat.error).toBeUndefined()
    expect(chat.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant'])
    const conversationId = conversationOf(chat.messages[3]!)
    const stored = await storedMessages(user, conversationId)
    expect(stored.map((message) => message.role)).toEqual(['user', 'assistant', 'user', 'assistant'])
    // The second turn continues the first: its user message answers the first assistant message.
    expect(stored[2]!.parentId).toBe(stored[1]!.id)
    expect(chat.messages[1]!.id).toBe(stored[1]!.id)
    expect(chat.messages[3]!.id).toBe(stored[3]!.id)
    expect(textOf(chat.messages[3]!)).toBe(textOf(stored[3]!))
  })

  it('maps a client chat id to one conversation, created once with the request workspace and model, listed like any', async () => {
    const user = await t.register()
    const chatId = `chat-${crypto.randomUUID()}`
    const first = await send(user, chatId, [userMessage('One [[emulator tokens=1]]')], { body: { modelId: 'anthropic.claude-3-haiku-20240307-v1:0' } })
    const conversationId = conversationOf(first.message)
    expect(conversationId).toMatch(/^conv_/)
    const second = await send(user, chatId, [userMessage('One [[emulator tokens=1]]'), first.message, userMessage('Two [[emulator tokens=1]]')])
    expect(conversationOf(second.message)).toBe(conversationId)
    const list = (await (await user.call('GET', '/v1/conversations')).json()).data as { id: string; modelId: string | null; title: string }[]
    expect(list.filter((conv) => conv.id === conversationId)).toHaveLength(1)
    expect(list.find((conv) => conv.id === conversationId)).toMatchObject({ modelId: 'anthropic.claude-3-haiku-20240307-v1:0', title: 'One [[emulator tokens=1]]' })
    expect(list).toHaveLength(1)
    expect(await storedMessages(user, conversationId)).toHaveLength(4)

    // Another user's same chat id is another conversation.
    const other = await t.register()
    const theirs = await send(other, chatId, [userMessage('Mine [[emulator tokens=1]]')])
    expect(conversationOf(theirs.message)).not.toBe(conversationId)

    // A conversation id of someone else is 404; an unknown assistant on creation too.
    await expectProblem(
      await other.call('POST', '/v1/ui/chat', { body: { id: conversationId, messages: [userMessage('Hi')], trigger: 'submit-message' } }),
      404,
      'not_found',
    )
    await expectProblem(
      await other.call('POST', '/v1/ui/chat', { body: { id: 'fresh-chat', assistantId: 'asst_missing', messages: [userMessage('Hi')], trigger: 'submit-message' } }),
      404,
      'not_found',
    )
  })

  it('edits a user message as a sibling branch, in the same session and after a reload', async () => {
    const user = await t.register()
    const chat = new TestChat({ id: crypto.randomUUID(), transport: transportFor(user) })
    await chat.sendMessage({ text: 'Start [[emulator tokens=1]]' })
    await chat.sendMessage({ text: 'Original [[emulator tokens=1]]' })
    const conversationId = conversationOf(chat.messages[1]!)
    const localId = chat.messages[2]!.id
    await chat.sendMessage({ text: 'Edited [[emulator tokens=1]]', messageId: localId })
    expect(chat.error).toBeUndefined()
    expect(chat.messages).toHaveLength(4)
    expect(textOf(chat.messages[2]!)).toBe('Edited [[emulator tokens=1]]')
    let stored = await storedMessages(user, conversationId)
    expect(stored).toHaveLength(6)
    const [, firstAnswer, original, , edited, editedAnswer] = stored
    expect(original!.parentId).toBe(firstAnswer!.id)
    expect(edited!.parentId).toBe(firstAnswer!.id)
    expect(textOf(edited!)).toBe('Edited [[emulator tokens=1]]')
    expect(editedAnswer!.parentId).toBe(edited!.id)

    // After a reload the client holds the stored ids: an edit names the stored user message.
    const reloaded = await send(user, conversationId, [...stored.slice(0, 2).map(toUIMessage), userMessage('Edited again [[emulator tokens=1]]', edited!.id)], { messageId: edited!.id })
    stored = await storedMessages(user, conversationId)
    expect(stored).toHaveLength(8)
    expect(stored[6]!.parentId).toBe(firstAnswer!.id)
    expect(reloaded.message.id).toBe(stored[7]!.id)
  })

  it('edits the first message as a new branch from the root, whose answer sees nothing of the old one', async () => {
    const user = await t.register()
    const chat = new TestChat({ id: crypto.randomUUID(), transport: transportFor(user) })
    await chat.sendMessage({ text: 'First [[emulator tokens=1]]' })
    await chat.sendMessage({ text: 'Second [[emulator tokens=1]]' })
    const conversationId = conversationOf(chat.messages[1]!)
    requests.length = 0
    await chat.sendMessage({ text: 'First, edited', messageId: chat.messages[0]!.id })
    expect(chat.error).toBeUndefined()
    expect(chat.messages.map(textOf)[0]).toBe('First, edited')
    expect(chat.messages).toHaveLength(2)
    const stored = await storedMessages(user, conversationId)
    const edited = stored.find((message: { parts: { type: string; text?: string }[] }) => textOf(message) === 'First, edited')!
    expect(edited).toMatchObject({ role: 'user', parentId: null })
    expect(stored.at(-1)).toMatchObject({ role: 'assistant', parentId: edited.id })
    // The model saw the edited message alone.
    expect(requests.at(-1)!.messages).toHaveLength(1)

    // After a reload, an edit naming the stored first message does the same.
    const again = await send(user, conversationId, [userMessage('First, edited again', edited.id)], { messageId: edited.id })
    expect(again.message.role).toBe('assistant')
    const after = await storedMessages(user, conversationId)
    expect(after.filter((message: { parentId: string | null }) => message.parentId === null)).toHaveLength(3)
  })

  it('regenerates an answer as a new assistant message under the same user message', async () => {
    const user = await t.register()
    const chat = new TestChat({ id: crypto.randomUUID(), transport: transportFor(user) })
    await chat.sendMessage({ text: 'Answer twice [[emulator tokens=2]]' })
    const conversationId = conversationOf(chat.messages[1]!)
    const firstAnswerId = chat.messages[1]!.id
    await chat.regenerate()
    expect(chat.error).toBeUndefined()
    expect(chat.messages).toHaveLength(2)
    expect(chat.messages[1]!.id).not.toBe(firstAnswerId)
    let stored = await storedMessages(user, conversationId)
    expect(stored.map((message) => message.role)).toEqual(['user', 'assistant', 'assistant'])
    expect(stored[2]!.parentId).toBe(stored[0]!.id)
    expect(stored[2]!.id).toBe(chat.messages[1]!.id)

    // A targeted regenerate names the assistant message.
    const again = await send(user, conversationId, [toUIMessage(stored[0]!)], { trigger: 'regenerate-message', messageId: stored[1]!.id })
    stored = await storedMessages(user, conversationId)
    expect(stored).toHaveLength(4)
    expect(stored[3]!.parentId).toBe(stored[0]!.id)
    expect(again.message.id).toBe(stored[3]!.id)
  })

  it('stores a file part sent as a data URL as an image, and refuses remote files and file ids', async () => {
    const user = await t.register()
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=='
    const message: UIMessage = {
      id: 'local-1',
      role: 'user',
      parts: [
        { type: 'file', mediaType: 'image/png', filename: 'dot.png', url: `data:image/png;base64,${png}` },
        { type: 'text', text: 'What is this? [[emulator tokens=1]]' },
      ],
    }
    const { message: answer } = await send(user, `files-${crypto.randomUUID()}`, [message])
    const stored = await storedMessages(user, conversationOf(answer))
    expect(stored[0]!.parts).toEqual([
      { type: 'image', format: 'png', data: png },
      { type: 'text', text: 'What is this? [[emulator tokens=1]]' },
    ])
    for (const part of [
      { type: 'file', mediaType: 'image/png', url: 'https://example.com/a.png' },
      { type: 'file', mediaType: 'image/png', url: `data:image/png;base64,${png}`, fileId: 'file_1' },
      { type: 'file', mediaType: 'video/mp4', url: 'data:video/mp4;base64,AAAA' },
      { type: 'tool-x', toolCallId: 'a', state: 'input-available', input: {} },
    ]) {
      const res = await user.call('POST', '/v1/ui/chat', { body: { id: 'refusals', messages: [{ id: 'm', role: 'user', parts: [part] }], trigger: 'submit-message' } })
      await expectProblem(res, 400, 'validation_failed')
    }
  })

  it('takes a whole resent history up to the turn body limit, not the general one', async () => {
    const user = await t.register()
    const history: UIMessage[] = []
    for (let i = 0; i < 30; i++) history.push(userMessage(`${i} ${'x'.repeat(50_000)}`, `old-${i}`), { id: `a-${i}`, role: 'assistant', parts: [{ type: 'text', text: 'y'.repeat(50_000) }] })
    const body = JSON.stringify({ id: `big-${crypto.randomUUID()}`, messages: [...history, userMessage('Short [[emulator tokens=1]]')], trigger: 'submit-message' })
    expect(body.length).toBeGreaterThan(t.config.MAX_BODY_BYTES)
    const res = await fetch(`${base}/v1/ui/chat`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` }, body })
    expect(res.status).toBe(200)
    await res.text()
  })

  it('delivers reasoning and a tool call as their UI parts', async () => {
    const user = await t.register()
    const { message, errors } = await send(user, `parts-${crypto.randomUUID()}`, [
      userMessage('Think, then call [[emulator reasoning tokens=2 tool=get_weather input={"city":"Paris"}]]'),
    ])
    expect(errors).toEqual([])
    const reasoning = message.parts.find((part) => part.type === 'reasoning')
    expect(reasoning).toMatchObject({ type: 'reasoning', state: 'done' })
    expect((reasoning as { text: string }).text.length).toBeGreaterThan(0)
    const tool = message.parts.find((part) => part.type === 'tool-get_weather')
    expect(tool).toMatchObject({ type: 'tool-get_weather', state: 'input-available', input: { city: 'Paris' }, toolCallId: expect.any(String) })
    expect(message.parts.findIndex((part) => part.type === 'reasoning')).toBeLessThan(message.parts.findIndex((part) => part.type === 'text'))
    expect(message.metadata).toMatchObject({ stopReason: 'tool_use' })
  })

  it('resumes after a dropped connection: the replay replaces the partial message, nothing is duplicated', async () => {
    const user = await t.register()
    const chatId = crypto.randomUUID()
    const chat = new TestChat({ id: chatId, transport: transportFor(user) })
    const sending = chat.sendMessage({ text: 'A slow one [[emulator tokens=30 delay=40]]' })
    await until(() => chat.messages.length === 2 && textOf(chat.messages[1]!).length > 0)
    await chat.stop() // the connection drops; the generation goes on
    await sending
    const partial = chat.messages[1]!
    expect(chat.messages).toHaveLength(2)

    await chat.resumeStream()
    expect(chat.error).toBeUndefined()
    expect(chat.messages).toHaveLength(2)
    const conversationId = conversationOf(chat.messages[1]!)
    const stored = await storedMessages(user, conversationId)
    expect(stored).toHaveLength(2)
    expect(stored[1]!.status).toBe('complete')
    expect(chat.messages[1]!.id).toBe(partial.id)
    expect(chat.messages[1]!.id).toBe(stored[1]!.id)
    expect(textOf(chat.messages[1]!)).toBe(textOf(stored[1]!))
    expect(textOf(chat.messages[1]!).length).toBeGreaterThan(textOf(partial).length)

    // Nothing active any more: a resume is 204 and leaves the chat as it was.
    await chat.resumeStream()
    expect(chat.status).toBe('ready')
    expect(chat.messages).toHaveLength(2)
  })

  it('resumes on mount after a reload, from the stored partial message', async () => {
    const user = await t.register()
    const chatId = `reload-${crypto.randomUUID()}`
    const transport = transportFor(user)
    const abort = new AbortController()
    const stream = await transport.sendMessages({ chatId, messages: [userMessage('Slow [[emulator tokens=30 delay=40]]')], trigger: 'submit-message', messageId: undefined, abortSignal: abort.signal })
    const reader = stream.getReader()
    let conversationId = ''
    while (!conversationId) {
      const { value } = await reader.read()
      if (value?.type === 'start') conversationId = (value.messageMetadata as { conversationId: string }).conversationId
    }
    abort.abort()
    const stored = await storedMessages(user, conversationId)
    const chat = new TestChat({ id: chatId, transport, messages: stored.map(toUIMessage) })
    await chat.resumeStream()
    expect(chat.error).toBeUndefined()
    const after = await storedMessages(user, conversationId)
    expect(chat.messages.map((message) => message.id)).toEqual(after.map((message) => message.id))
    expect(textOf(chat.messages[1]!)).toBe(textOf(after[1]!))
    expect(after[1]!.status).toBe('complete')
  })

  it('GET …/stream is 204 when idle and for a chat id never used', async () => {
    const user = await t.register()
    const unknown = await fetch(`${base}/v1/ui/chat/never-used/stream`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(unknown.status).toBe(204)
    const { message } = await send(user, 'used-once', [userMessage('Hi [[emulator tokens=1]]')])
    const idle = await fetch(`${base}/v1/ui/chat/used-once/stream`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(idle.status).toBe(204)
    const byConversation = await fetch(`${base}/v1/ui/chat/${conversationOf(message)}/stream`, { headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(byConversation.status).toBe(204)
    const other = await t.register()
    await expectProblem(await other.call('GET', `/v1/ui/chat/${conversationOf(message)}/stream`), 404, 'not_found')
    const unauthenticated = await fetch(`${base}/v1/ui/chat/used-once/stream`)
    expect(unauthenticated.status).toBe(401)
  })

  it('stop cancels the generation and keeps the partial answer', async () => {
    const user = await t.register()
    const chatId = `stop-${crypto.randomUUID()}`
    const chat = new TestChat({ id: chatId, transport: transportFor(user) })
    const sending = chat.sendMessage({ text: 'Long [[emulator tokens=200 delay=30]]' })
    await until(() => chat.messages.length === 2 && textOf(chat.messages[1]!).length > 0)
    const generationId = (chat.messages[1]!.metadata as { generationId: string }).generationId

    const stale = await user.call('POST', `/v1/ui/chat/${chatId}/stop`, { body: { activeStreamId: 'gen_other' } })
    expect(await stale.json()).toEqual({ success: true, stopped: false, generationId })

    const res = await fetch(`${base}/v1/ui/chat/${chatId}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.accessToken}` },
      body: JSON.stringify({ assistantMessage: chat.messages[1], activeStreamId: generationId }),
    })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ success: true, stopped: true, generationId })
    await sending
    const conversationId = conversationOf(chat.messages[1]!)
    const stored = await storedMessages(user, conversationId)
    expect(stored[1]!.status).toBe('cancelled')
    expect(textOf(stored[1]!).length).toBeGreaterThan(0)
    expect(textOf(chat.messages[1]!)).toBe(textOf(stored[1]!))

    // Nothing to stop now (and no body at all): still a success.
    const again = await fetch(`${base}/v1/ui/chat/${chatId}/stop`, { method: 'POST', headers: { authorization: `Bearer ${user.accessToken}` } })
    expect(again.status).toBe(200)
    expect(await again.json()).toEqual({ success: true, stopped: false, generationId: null })
    // The chat goes on.
    await chat.sendMessage({ text: 'Next [[emulator tokens=1]]' })
    expect(chat.error).toBeUndefined()
    expect(await storedMessages(user, conversationId)).toHaveLength(4)
  })

  it('surfaces a failing model as an error the client reports', async () => {
    const user = await t.register()
    const { errors } = await send(user, `fail-${crypto.randomUUID()}`, [userMessage('Fail [[emulator error=ThrottlingException]]')])
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatch(/rate_limited/)

    const chat = new TestChat({ id: `fail-${crypto.randomUUID()}`, transport: transportFor(user) })
    await chat.sendMessage({ text: 'Fail again [[emulator error=ThrottlingException]]' })
    expect(chat.status).toBe('error')
    expect(chat.error?.message).toMatch(/rate_limited/)

    // Before the stream starts, a refusal is the problem text the client throws.
    const refused = new TestChat({ id: 'conv_doesnotexist', transport: transportFor(user) })
    await refused.sendMessage({ text: 'Hi' })
    expect(refused.status).toBe('error')
    expect(JSON.parse(refused.error!.message)).toMatchObject({ code: 'not_found', status: 404 })
  })

  it('needs the chat scope to post and the read scope to resume', async () => {
    const user = await t.register()
    const key = await (await user.call('POST', '/v1/api-keys', { body: { name: 'reader', scopes: ['read'] } })).json()
    const post = await t.request('POST', '/v1/ui/chat', { token: key.key, body: { id: 'x', messages: [userMessage('Hi')], trigger: 'submit-message' } })
    await expectProblem(post, 403, 'forbidden')
    const stop = await t.request('POST', '/v1/ui/chat/x/stop', { token: key.key })
    await expectProblem(stop, 403, 'forbidden')
    const resume = await t.request('GET', '/v1/ui/chat/x/stream', { token: key.key })
    expect(resume.status).toBe(204)
  })
})

function toUIMessage(message: { id: string; role: string; parts: { type: string; text?: string }[] }): UIMessage {
  return {
    id: message.id,
    role: message.role as 'user' | 'assistant',
    parts: message.parts.filter((part) => part.type === 'text').map((part) => ({ type: 'text' as const, text: part.text ?? '' })),
  }
}
