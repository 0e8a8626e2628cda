// @ts-check
// The playground: a chat page over the native API. Model output is only ever set as text (textContent), never parsed
// as HTML; the page's Content-Security-Policy enforces Trusted Types with no policy, so an HTML sink would throw.
import { ApiError, call, listAll, loadSession, login, logout, register, request } from './api.js'
import { readEvents } from './sse.js'

/** @type {<T extends HTMLElement = HTMLElement>(id: string) => T} */
const $ = (id) => /** @type {any} */ (document.getElementById(id))
const el = {
  authView: $('auth-view'),
  /** @type {HTMLFormElement} */ authForm: $('auth-form'),
  authError: $('auth-error'),
  /** @type {HTMLInputElement} */ email: $('email'),
  /** @type {HTMLInputElement} */ password: $('password'),
  chatView: $('chat-view'),
  who: $('who'),
  /** @type {HTMLButtonElement} */ logout: $('logout'),
  /** @type {HTMLButtonElement} */ newChat: $('new-chat'),
  /** @type {HTMLInputElement} */ search: $('search'),
  /** @type {HTMLUListElement} */ conversations: $('conversations'),
  /** @type {HTMLSelectElement} */ model: $('model'),
  assistantField: $('assistant-field'),
  /** @type {HTMLSelectElement} */ assistant: $('assistant'),
  title: $('chat-title'),
  /** @type {HTMLOListElement} */ messages: $('messages'),
  /** @type {HTMLFormElement} */ composer: $('composer'),
  /** @type {HTMLTextAreaElement} */ message: $('message'),
  editing: $('editing'),
  /** @type {HTMLButtonElement} */ cancelEdit: $('cancel-edit'),
  /** @type {HTMLButtonElement} */ send: $('send'),
  /** @type {HTMLButtonElement} */ stop: $('stop'),
  status: $('status'),
}

/** How often an open conversation is checked for a generation another tab or client started. */
const FOLLOW_INTERVAL_MS = 3000
const RECONNECTS = 5
const SSE = { Accept: 'text/event-stream' }

const state = {
  me: null,
  models: [],
  assistants: [],
  /** Routes that exist on this server (from /openapi.json): the conversation tree and assistants are optional. */
  features: { tree: false, assistants: false },
  conversation: null,
  /** The stream this tab reads: { conversationId, controller, generationId, lastId, node } */
  stream: null,
  /** While editing a message: the parent the edited turn branches from (null at the root); undefined otherwise. */
  editParentId: undefined,
  listVersion: 0,
  /** Between Send and the turn's stream (creating the conversation first): a second Send waits. */
  sending: false,
}

const channel = 'BroadcastChannel' in window ? new BroadcastChannel('edgechat') : null
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------------- rendering

function node(tag, className, text) {
  const element = document.createElement(tag)
  if (className) element.className = className
  if (text !== undefined) element.textContent = text
  return element
}

function button(label, onClick, className = 'link') {
  const element = node('button', className, label)
  element.type = 'button'
  element.addEventListener('click', () => guard(onClick))
  return element
}

function setStatus(text, isError = false) {
  el.status.textContent = text
  el.status.classList.toggle('error', isError)
}

function usageText(usage) {
  return usage ? `Tokens: ${usage.inputTokens} in, ${usage.outputTokens} out` : ''
}

function metaText(status, usage, error) {
  if (status === 'streaming') return 'Answering…'
  if (status === 'cancelled') return ['Stopped', usageText(usage)].filter(Boolean).join(' · ')
  if (status === 'failed') return `Failed${error ? `: ${error}` : ''}`
  if (status === 'incomplete') return ['Incomplete', usageText(usage)].filter(Boolean).join(' · ')
  return usageText(usage)
}

/** One message as a list item: role, its parts as text, and a meta line (status, token usage). */
function messageNode(message) {
  const item = node('li', `message ${message.role}`)
  if (message.id) item.dataset.id = message.id
  item.dataset.status = message.status ?? 'complete'
  item.append(node('div', 'role', message.role === 'user' ? 'You' : 'Assistant'))
  const reasoning = node('details', 'reasoning')
  reasoning.append(node('summary', '', 'Reasoning'), node('div', 'reasoning-text'))
  reasoning.hidden = true
  const tools = node('div', 'tools')
  const text = node('div', 'text')
  item.append(reasoning, tools, text, node('div', 'meta'))
  for (const part of message.parts ?? []) {
    if (part.type === 'text') text.textContent += part.text
    else if (part.type === 'reasoning') appendReasoning(item, part.text)
    else if (part.type === 'tool_call') appendTool(item, `Tool call: ${part.name} ${JSON.stringify(part.input)}`)
    else if (part.type === 'tool_result') appendTool(item, `Tool result${part.isError ? ' (error)' : ''}: ${JSON.stringify(part.content)}`)
    else if (part.type === 'image' || part.type === 'document') appendTool(item, `[${part.type}${part.name ? `: ${part.name}` : ''}]`)
  }
  setMeta(item, message.status, message.usage)
  return item
}

function appendReasoning(item, delta) {
  const reasoning = item.querySelector('.reasoning')
  reasoning.hidden = false
  reasoning.querySelector('.reasoning-text').textContent += delta
}

function appendTool(item, line) {
  item.querySelector('.tools').append(node('div', 'tool', line))
}

function setMeta(item, status, usage, error) {
  if (status) item.dataset.status = status
  item.querySelector('.meta').textContent = metaText(item.dataset.status, usage, error)
}

/** Edit, regenerate and the branch switcher: only when this server has the conversation tree. */
function treeControls(message) {
  const controls = node('div', 'controls')
  const siblings = [...new Set([...(message.siblingIds ?? []), message.id])].sort()
  if (siblings.length > 1) {
    const at = siblings.indexOf(message.id)
    const previous = button('Previous version', () => switchBranch(siblings[at - 1]))
    const next = button('Next version', () => switchBranch(siblings[at + 1]))
    previous.disabled = at === 0
    next.disabled = at === siblings.length - 1
    controls.append(previous, node('span', 'position', `${at + 1} / ${siblings.length}`), next)
  }
  if (message.role === 'user') controls.append(button('Edit', () => startEdit(message)))
  else if (message.status !== 'streaming') controls.append(button('Regenerate', () => regenerate(message)))
  return controls
}

function renderMessages(messages) {
  el.messages.replaceChildren(
    ...messages.map((message) => {
      const item = messageNode(message)
      if (state.features.tree && message.id) item.append(treeControls(message))
      return item
    }),
  )
  scrollToEnd()
}

function scrollToEnd() {
  el.messages.lastElementChild?.scrollIntoView({ block: 'end' })
}

function renderConversations(conversations) {
  el.conversations.replaceChildren(
    ...conversations.map((conversation) => {
      const item = node('li')
      const link = node('a', 'conversation', conversation.title || 'Untitled conversation')
      link.href = `#${conversation.id}`
      if (conversation.id === state.conversation?.id) link.setAttribute('aria-current', 'page')
      item.append(link)
      return item
    }),
  )
  if (conversations.length === 0) el.conversations.append(node('li', 'empty', el.search.value.trim() ? 'No matches' : 'No conversations yet'))
}

function markCurrent(id) {
  for (const link of el.conversations.querySelectorAll('a')) {
    if (link.hash === `#${id}`) link.setAttribute('aria-current', 'page')
    else link.removeAttribute('aria-current')
  }
}

function setStreaming(streaming) {
  el.send.disabled = streaming
  el.stop.disabled = !streaming || !state.stream?.generationId
  el.messages.setAttribute('aria-busy', String(streaming))
}

// ---------------------------------------------------------------------------------------------------- data

async function refreshConversations() {
  const q = el.search.value.trim()
  const version = ++state.listVersion
  const page = await call(`/v1/conversations?limit=50${q ? `&q=${encodeURIComponent(q)}` : ''}`)
  if (version === state.listVersion) renderConversations(page.data)
}

async function loadMessages() {
  const id = state.conversation.id
  const messages = await listAll(`/v1/conversations/${id}/messages${state.features.tree ? '?branch=current' : ''}`)
  if (state.conversation?.id === id) renderMessages(messages)
}

/** Which optional routes exist, from the served OpenAPI document (no probing requests, so no error responses). */
async function detectFeatures() {
  const res = await fetch('/openapi.json')
  const paths = res.ok ? (await res.json()).paths : {}
  const listParameters = paths['/v1/conversations/{id}/messages']?.get?.parameters ?? []
  return {
    tree: Boolean(paths['/v1/messages/{id}/regenerate']?.post) && listParameters.some((parameter) => parameter.name === 'branch'),
    assistants: Boolean(paths['/v1/assistants']?.get),
  }
}

function fillModels() {
  el.model.replaceChildren(
    ...state.models.map((model) => {
      const option = new Option(model.name || model.id, model.id)
      option.selected = model.default
      return option
    }),
  )
}

async function loadAssistants() {
  const workspaceId = state.me.workspaces[0]?.id
  if (!state.features.assistants || !workspaceId) return
  state.assistants = await listAll(`/v1/assistants?workspaceId=${encodeURIComponent(workspaceId)}`, 100)
  el.assistant.replaceChildren(new Option('None', ''), ...state.assistants.map((assistant) => new Option(assistant.name, assistant.id)))
  el.assistantField.hidden = state.assistants.length === 0
}

// ---------------------------------------------------------------------------------------------------- streams

/**
 * Reads one SSE response of a generation into the page. Returns true once a terminal event arrived; false when the
 * connection ended first (the generation goes on server-side, and can be followed again from the last event seen).
 */
async function consume(res, stream) {
  try {
    for await (const { id, event, data } of readEvents(res)) {
      if (id !== null) stream.lastId = id
      if (event === 'generation.started') {
        stream.generationId = data.generationId
        let item = el.messages.querySelector(`li[data-id="${CSS.escape(data.assistantMessageId)}"]`) ?? stream.node
        if (!item) el.messages.append((item = messageNode({ role: 'assistant', status: 'streaming', parts: [] })))
        item.dataset.id = data.assistantMessageId
        // Replays start from the beginning: the text so far is rebuilt from the deltas.
        item.querySelector('.text').textContent = ''
        item.querySelector('.tools').replaceChildren()
        item.querySelector('.reasoning-text').textContent = ''
        setMeta(item, 'streaming')
        stream.node = item
        setStreaming(true)
        channel?.postMessage({ type: 'generation', conversationId: stream.conversationId })
      } else if (!stream.node) {
        continue
      } else if (event === 'text.delta') {
        stream.node.querySelector('.text').textContent += data.delta
        scrollToEnd()
      } else if (event === 'reasoning.delta') appendReasoning(stream.node, data.delta)
      else if (event === 'tool.call') appendTool(stream.node, `Tool call: ${data.name} ${JSON.stringify(data.input)}`)
      else if (event === 'tool.result') appendTool(stream.node, `Tool result${data.isError ? ' (error)' : ''}: ${JSON.stringify(data.output)}`)
      else if (event === 'usage') stream.node.querySelector('.meta').textContent = `Answering… ${usageText(data)}`
      else if (event === 'generation.completed') return setMeta(stream.node, 'complete', data.usage), true
      else if (event === 'generation.failed') return setMeta(stream.node, 'failed', null, data.message), true
      else if (event === 'generation.cancelled') return setMeta(stream.node, 'cancelled'), true
    }
  } catch (error) {
    if (stream.controller.signal.aborted) return true
  }
  return false
}

/**
 * Runs a generation's stream in this tab: `open` sends the request (a turn, a regeneration, an attach). A dropped
 * connection resumes from the last event seen (`?after=`). Afterwards the conversation is reloaded from the server.
 */
async function runStream(conversationId, open, placeholder = null) {
  const controller = new AbortController()
  const stream = { conversationId, controller, generationId: null, lastId: 0, node: placeholder }
  state.stream = stream
  setStreaming(true)
  try {
    let res = await open(controller.signal)
    for (let attempt = 1; res; attempt++) {
      if (!res.headers.get('content-type')?.startsWith('text/event-stream')) break
      if (await consume(res, stream)) break
      if (!stream.generationId || attempt > RECONNECTS) throw new Error('The stream was interrupted')
      await sleep(500 * attempt)
      res = await request(`/v1/generations/${stream.generationId}/events?after=${stream.lastId}`, { signal: controller.signal, headers: SSE })
    }
  } finally {
    // A stream this tab moved away from (another conversation, a newer stream) leaves the controls to the current one.
    if (state.stream === stream) state.stream = null
    if (!state.stream) setStreaming(false)
  }
  channel?.postMessage({ type: 'generation', conversationId })
  if (controller.signal.aborted || state.conversation?.id !== conversationId) return
  await Promise.all([reloadConversation(), refreshConversations()])
}

/** Follows the conversation's active generation, if any (after a reload, or one another tab or client started). */
function attach(conversationId) {
  return runStream(conversationId, async (signal) => {
    const res = await request(`/v1/conversations/${conversationId}/stream`, { signal, headers: SSE })
    return res.status === 204 ? null : res
  })
}

function abortStream() {
  state.stream?.controller.abort()
  state.stream = null
  setStreaming(false)
}

// ---------------------------------------------------------------------------------------------------- actions

async function reloadConversation() {
  const id = state.conversation.id
  const conversation = await call(`/v1/conversations/${id}`)
  if (state.conversation?.id !== id) return
  state.conversation = conversation
  el.title.textContent = conversation.title || 'Untitled conversation'
  await loadMessages()
}

async function openConversation(id) {
  abortStream()
  cancelEdit()
  state.conversation = { id }
  el.messages.replaceChildren()
  await reloadConversation()
  if (state.models.some((model) => model.id === state.conversation.modelId)) el.model.value = state.conversation.modelId
  el.assistant.value = state.conversation.assistantId ?? ''
  el.assistant.disabled = true
  markCurrent(id)
  if (state.conversation.activeGenerationId) await attach(id)
}

function newChat() {
  abortStream()
  cancelEdit()
  state.conversation = null
  el.title.textContent = 'New chat'
  el.messages.replaceChildren()
  el.assistant.disabled = false
  markCurrent(null)
  setStatus('')
  el.message.focus()
}

/** Sends the composer's text (a new conversation first, if none is open); one send at a time. */
async function send() {
  if (!el.message.value.trim() || state.stream || state.sending) return
  state.sending = true
  el.send.disabled = true
  try {
    await sendTurn(el.message.value)
  } finally {
    state.sending = false
    if (!state.stream) setStreaming(false)
  }
}

async function sendTurn(content) {
  setStatus('')
  if (!state.conversation) {
    const assistantId = el.assistant.value || undefined
    state.conversation = await call('/v1/conversations', { method: 'POST', json: { modelId: el.model.value, ...(assistantId ? { assistantId } : {}) } })
    history.replaceState(null, '', `#${state.conversation.id}`)
    el.assistant.disabled = true
  }
  const conversationId = state.conversation.id
  const body = { content, stream: true, modelId: el.model.value }
  if (state.editParentId !== undefined) {
    body.parentId = state.editParentId
    truncateAfter(state.editParentId)
  }
  cancelEdit()
  el.message.value = ''
  el.messages.append(messageNode({ role: 'user', status: 'complete', parts: [{ type: 'text', text: content }] }))
  const placeholder = messageNode({ role: 'assistant', status: 'streaming', parts: [] })
  el.messages.append(placeholder)
  scrollToEnd()
  await runStream(
    conversationId,
    (signal) => request(`/v1/conversations/${conversationId}/messages`, { method: 'POST', json: body, signal, headers: { ...SSE, 'Idempotency-Key': crypto.randomUUID() } }),
    placeholder,
  ).catch(async (error) => {
    // Nothing was sent, or the stream broke: show what the server has, and give the text back.
    if (el.message.value === '') el.message.value = content
    if (state.conversation?.id !== conversationId) throw error
    await reloadConversation()
    if (!(error instanceof ApiError && error.status === 409)) throw error
    setStatus('Another answer is still being written here: following it.')
    await attach(conversationId)
  })
}

async function stop() {
  const generationId = state.stream?.generationId
  if (!generationId) return
  el.stop.disabled = true
  await call(`/v1/generations/${generationId}/cancel`, { method: 'POST' })
}

/** Drops the shown messages after `parentId` (null: all of them): what an edit or a regeneration replaces. */
function truncateAfter(parentId) {
  const items = /** @type {HTMLElement[]} */ ([...el.messages.children])
  const keep = parentId === null ? 0 : items.findIndex((item) => item.dataset.id === parentId) + 1
  for (const item of items.slice(keep)) item.remove()
}

function startEdit(message) {
  state.editParentId = message.parentId ?? null
  el.message.value = message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('')
  el.editing.hidden = false
  el.message.focus()
}

function cancelEdit() {
  state.editParentId = undefined
  el.editing.hidden = true
}

async function regenerate(message) {
  if (state.stream) return
  truncateAfter(message.parentId)
  const placeholder = messageNode({ role: 'assistant', status: 'streaming', parts: [] })
  el.messages.append(placeholder)
  await runStream(state.conversation.id, (signal) => request(`/v1/messages/${message.id}/regenerate`, { method: 'POST', json: { stream: true }, signal, headers: SSE }), placeholder)
}

/** Shows the branch through `messageId`: down to its newest leaf, which becomes the conversation's current leaf. */
async function switchBranch(messageId) {
  const id = state.conversation.id
  const all = await listAll(`/v1/conversations/${id}/messages?branch=all`, 10_000)
  const children = new Map()
  for (const message of all) children.set(message.parentId, [...(children.get(message.parentId) ?? []), message.id])
  let leaf = messageId
  while (children.get(leaf)?.length) leaf = children.get(leaf).sort().at(-1)
  await call(`/v1/conversations/${id}`, { method: 'PATCH', json: { currentLeafId: leaf } })
  await reloadConversation()
}

/** Another tab or client may start a generation here: follow it (a BroadcastChannel hint, or the periodic check). */
async function followActive() {
  if (!state.conversation?.updatedAt || state.stream) return
  const before = state.conversation
  const conversation = await call(`/v1/conversations/${before.id}`)
  if (state.conversation !== before || state.stream) return
  if (conversation.activeGenerationId) {
    await reloadConversation()
    if (!state.stream && state.conversation?.id === conversation.id) await attach(conversation.id)
  } else if (conversation.updatedAt !== before.updatedAt) {
    await reloadConversation()
  }
}

// ---------------------------------------------------------------------------------------------------- session

function showAuth(message = '') {
  abortStream()
  state.conversation = null
  el.chatView.hidden = true
  el.logout.hidden = true
  el.who.textContent = ''
  el.authView.hidden = false
  el.authError.textContent = message
  el.email.focus()
}

async function enterChat() {
  const [me, models, features] = await Promise.all([call('/v1/me'), call('/v1/models'), detectFeatures()])
  Object.assign(state, { me, models: models.data, features })
  el.who.textContent = me.user.email
  el.logout.hidden = false
  el.authView.hidden = true
  el.chatView.hidden = false
  fillModels()
  await Promise.all([loadAssistants(), refreshConversations()])
  const id = location.hash.slice(1)
  if (id) await openConversation(id)
  else newChat()
}

/** Runs a user action; failures show as a status line, and an ended session returns to the login form. */
async function guard(action) {
  try {
    await action()
  } catch (error) {
    if (error instanceof ApiError && error.status === 401 && !loadSession()) return showAuth('Your session ended: log in again.')
    if (error?.name === 'AbortError') return
    setStatus(error instanceof Error ? error.message : String(error), true)
  }
}

// ---------------------------------------------------------------------------------------------------- events

el.authForm.addEventListener('submit', (event) => {
  event.preventDefault()
  const submitter = /** @type {HTMLButtonElement | null} */ (event.submitter)
  const mode = submitter?.value === 'register' ? register : login
  el.authError.textContent = ''
  guard(async () => {
    try {
      await mode(el.email.value, el.password.value)
    } catch (error) {
      el.authError.textContent = error instanceof Error ? error.message : String(error)
      return
    }
    el.password.value = ''
    await enterChat()
  })
})

el.logout.addEventListener('click', () => guard(async () => {
  await logout()
  history.replaceState(null, '', location.pathname)
  showAuth()
}))

el.composer.addEventListener('submit', (event) => {
  event.preventDefault()
  guard(send)
})
el.message.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault()
    guard(send)
  } else if (event.key === 'Escape' && state.stream) {
    event.preventDefault()
    guard(stop)
  }
})
el.stop.addEventListener('click', () => guard(stop))
el.cancelEdit.addEventListener('click', () => {
  cancelEdit()
  el.message.focus()
})
el.newChat.addEventListener('click', () => {
  history.pushState(null, '', location.pathname)
  newChat()
})
el.assistant.addEventListener('change', () => {
  const assistant = state.assistants.find((candidate) => candidate.id === el.assistant.value)
  if (assistant && state.models.some((model) => model.id === assistant.modelId)) el.model.value = assistant.modelId
})

let searchTimer
el.search.addEventListener('input', () => {
  clearTimeout(searchTimer)
  searchTimer = setTimeout(() => guard(refreshConversations), 250)
})

window.addEventListener('hashchange', () => {
  const id = location.hash.slice(1)
  guard(() => (id ? openConversation(id) : (newChat(), undefined)))
})

if (channel) channel.onmessage = (event) => {
  if (event.data?.conversationId === state.conversation?.id) guard(followActive)
}
setInterval(() => {
  if (!el.chatView.hidden && loadSession()) guard(followActive)
}, FOLLOW_INTERVAL_MS)

if (loadSession()) guard(enterChat)
else showAuth()
