// Tools over the other protocols: the WebSocket carries a turn's tools and its tool events; the AI SDK UI stream read
// by the official `ai` package shows each model call of the loop as a step with its tool parts.
import { DefaultChatTransport, readUIMessageStream, type UIMessage } from 'ai'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestApp } from '../helpers'
import { open, startSocketServer } from '../websocket-client'

let t: TestApp
let base: string
let http: string
let stop: () => Promise<void>
let server: ReturnType<typeof serve>

beforeAll(async () => {
  const started = await startSocketServer()
  ;({ t, base, close: stop } = started)
  server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  http = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve))
  await stop()
})

describe('tools over the protocols', () => {
  it('the WebSocket takes the turn’s tools and sends tool.call and tool.result like SSE', async () => {
    const user = await t.register()
    const conv = await (await user.call('POST', '/v1/conversations', { body: {} })).json()
    const socket = open(`${base}/v1/conversations/${conv.id}/ws?token=${user.accessToken}`)
    await socket.opened
    socket.send({ type: 'message', content: 'Sum [[emulator tool=calculator input={"expression":"2^10"}]]', tools: ['calculator'] })
    const done = await socket.next((m) => m.event === 'generation.completed' || m.event === 'generation.failed' || m.event === 'error')
    expect(done.event).toBe('generation.completed')
    const call = socket.received.find((m) => m.event === 'tool.call')!
    const result = socket.received.find((m) => m.event === 'tool.result')!
    expect(call.data).toMatchObject({ name: 'calculator', input: { expression: '2^10' } })
    expect(result.data).toMatchObject({ toolUseId: call.data.toolUseId, output: '1024', isError: false })
    expect(result.id!).toBeGreaterThan(call.id!)
    socket.send({ type: 'message', content: 'again', task: 'nope' })
    const refused = await socket.next((m) => m.event === 'error')
    expect(refused.data).toMatchObject({ code: 'validation_failed', errors: [{ path: 'task' }] })
    socket.ws.close()
  })

  it('the AI SDK reads each model call of the loop as a step, with the tool part between them', async () => {
    const user = await t.register()
    const assistant = await (await user.call('POST', '/v1/assistants', { body: { name: 'Calc', tools: ['calculator'] } })).json()
    const transport = new DefaultChatTransport<UIMessage>({ api: `${http}/v1/ui/chat`, headers: { Authorization: `Bearer ${user.accessToken}` } })
    const stream = await transport.sendMessages({
      chatId: `chat-${crypto.randomUUID()}`,
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Sum [[emulator tool=calculator input={"expression":"6*7"}]]' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
      body: { assistantId: assistant.id },
    })
    let message: UIMessage | undefined
    const errors: unknown[] = []
    for await (const snapshot of readUIMessageStream<UIMessage>({ stream, onError: (error) => errors.push(error) })) message = snapshot
    expect(errors).toEqual([])
    expect(message!.parts.map((part) => part.type)).toEqual(['step-start', 'text', 'tool-calculator', 'step-start', 'text'])
    expect(message!.parts[2]).toMatchObject({ type: 'tool-calculator', state: 'output-available', input: { expression: '6*7' }, output: '42' })
    expect(message!.parts[4]).toMatchObject({ type: 'text', text: 'Tool results: 42' })
  })

  it('the AI SDK sees a failed tool as output-error', async () => {
    const user = await t.register()
    const assistant = await (await user.call('POST', '/v1/assistants', { body: { name: 'Calc', tools: ['calculator'] } })).json()
    const transport = new DefaultChatTransport<UIMessage>({ api: `${http}/v1/ui/chat`, headers: { Authorization: `Bearer ${user.accessToken}` } })
    const stream = await transport.sendMessages({
      chatId: `chat-${crypto.randomUUID()}`,
      messages: [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: 'Oops [[emulator tool=calculator input={"expression":"2/0"}]]' }] }],
      trigger: 'submit-message',
      messageId: undefined,
      abortSignal: undefined,
      body: { assistantId: assistant.id },
    })
    let message: UIMessage | undefined
    for await (const snapshot of readUIMessageStream<UIMessage>({ stream })) message = snapshot
    expect(message!.parts.find((part) => part.type === 'tool-calculator')).toMatchObject({ state: 'output-error', errorText: 'Division by zero' })
  })
})
