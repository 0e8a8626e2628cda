/**
 * The playground's controls for routes other work adds: the conversation tree (edit, regenerate, branch switcher:
 * `POST /v1/messages/{id}/regenerate`, `GET …/messages?branch=current|all` with `siblingIds`, `PATCH` moving
 * `currentLeafId`) and the assistant picker (`GET /v1/assistants?workspaceId=`). The page finds them in /openapi.json
 * and shows these controls only when they exist, so this file passes only once those routes are merged.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, NO_PROBLEMS, Watch } from './chromium'
import { startServer } from './server'

const PASSWORD = 'correct horse battery'

async function documentedPaths(origin: string): Promise<string[]> {
  const document = (await (await fetch(`${origin}/openapi.json`)).json()) as { paths: Record<string, unknown> }
  return Object.keys(document.paths)
}

let server: Awaited<ReturnType<typeof startServer>>
let browser: Browser
let context: BrowserContext
let page: Page
let watch: Watch
/** The optional routes this server lacks: each test fails (never skips) until they are merged. */
let missing: string[] = []
const OPTIONAL_ROUTES = ['/v1/messages/{id}/regenerate', '/v1/assistants']
const requireRoutes = () => expect(missing, 'these tests pass once the conversation tree and assistants are merged').toEqual([])

beforeAll(async () => {
  server = await startServer()
  const paths = await documentedPaths(server.origin)
  missing = OPTIONAL_ROUTES.filter((path) => !paths.includes(path))
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  watch = new Watch(server.origin)
  await watch.attach(context)
  page = await context.newPage()
  await page.goto(`${server.origin}/`)
  await page.getByLabel('Email').fill(`tree-${crypto.randomUUID().slice(0, 8)}@example.com`)
  await page.getByLabel('Password').fill(PASSWORD)
  await page.getByRole('button', { name: 'Register' }).click()
  await page.getByRole('button', { name: 'New chat' }).waitFor()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

afterEach(() => {
  expect(watch.take()).toEqual(NO_PROBLEMS)
})

const messageBox = () => page.getByLabel('Message', { exact: true })
const conversationId = () => new URL(page.url()).hash.slice(1)
const accessToken = () => page.evaluate(() => (JSON.parse(localStorage.getItem('edgechat.session')!) as { accessToken: string }).accessToken)
const userTexts = () => page.locator('#messages li.message.user .text').allTextContents()
const assistantAt = (index: number) => page.locator('#messages li.message.assistant').nth(index)

async function settled() {
  await page.waitForFunction(() => {
    const items = document.querySelectorAll<HTMLElement>('#messages li.message.assistant')
    const last = items[items.length - 1]
    return last?.dataset.status === 'complete' && last.dataset.id && document.querySelector('#messages')?.getAttribute('aria-busy') === 'false'
  })
}

async function send(text: string) {
  await messageBox().fill(text)
  await page.getByRole('button', { name: 'Send' }).click()
  await settled()
}

describe('the playground with the conversation tree and assistants', { timeout: 90_000 }, () => {
  it('finds the optional routes in /openapi.json', async () => {
    expect(await documentedPaths(server.origin)).toEqual(expect.arrayContaining(OPTIONAL_ROUTES))
  })

  it('edits a message into a new branch and switches between the branches', async () => {
    requireRoutes()
    await send('First question')
    await send('Second question')
    const second = page.locator('#messages li.message.user').nth(1)
    await second.getByRole('button', { name: 'Edit' }).click()
    expect(await messageBox().inputValue()).toBe('Second question')
    await messageBox().fill('Second question, edited')
    await page.getByRole('button', { name: 'Send' }).click()
    await settled()
    expect(await userTexts()).toEqual(['First question', 'Second question, edited'])
    const edited = page.locator('#messages li.message.user').nth(1)
    await edited.locator('.position', { hasText: '2 / 2' }).waitFor()

    await edited.getByRole('button', { name: 'Previous version' }).click()
    await page.locator('#messages li.message.user .text', { hasText: /^Second question$/ }).waitFor()
    expect(await userTexts()).toEqual(['First question', 'Second question'])
    expect(await page.locator('#messages li.message.user').nth(1).locator('.position').textContent()).toBe('1 / 2')
    expect(await assistantAt(1).locator('.text').textContent()).toBe('You said: "Second question". This is the Bedrock emulator.')

    // The switch is stored: a reload shows the same branch.
    await page.reload()
    await page.locator('#messages li.message.user .text', { hasText: /^Second question$/ }).waitFor()
    const conversation = await server.api('GET', `/v1/conversations/${conversationId()}`, await accessToken())
    expect(conversation.body.currentLeafId).toBe(await assistantAt(1).getAttribute('data-id'))
  })

  it('regenerates an answer as a sibling, streamed, and keeps the old one reachable', async () => {
    requireRoutes()
    const before = await assistantAt(1).getAttribute('data-id')
    await assistantAt(1).getByRole('button', { name: 'Regenerate' }).click()
    await page.waitForFunction((old) => {
      const items = document.querySelectorAll<HTMLElement>('#messages li.message.assistant')
      const last = items[items.length - 1]
      return last?.dataset.status === 'complete' && last.dataset.id && last.dataset.id !== old
    }, before)
    await settled()
    await assistantAt(1).locator('.position', { hasText: '2 / 2' }).waitFor()
    await assistantAt(1).getByRole('button', { name: 'Previous version' }).click()
    await page.waitForFunction((old) => document.querySelectorAll<HTMLElement>('#messages li.message.assistant')[1]?.dataset.id === old, before)
  })

  it('offers the workspace assistants and starts a conversation with the one picked', async () => {
    requireRoutes()
    const token = await accessToken()
    const me = await server.api('GET', '/v1/me', token)
    const workspaceId = me.body.workspaces[0].id as string
    const models = (await server.api('GET', '/v1/models', token)).body.data as { id: string; default: boolean }[]
    const modelId = models.find((model) => !model.default)?.id ?? models[0]!.id
    const created = await server.api('POST', '/v1/assistants', token, { workspaceId, name: 'Pirate', modelId, systemPrompt: 'Talk like a pirate.' })
    expect(created.status).toBe(201)
    await page.reload()
    const picker = page.getByLabel('Assistant')
    await picker.waitFor()
    await page.getByRole('button', { name: 'New chat' }).click()
    await picker.selectOption({ label: 'Pirate' })
    expect(await page.getByLabel('Model').inputValue()).toBe(modelId)
    await send('Ahoy')
    const conversation = await server.api('GET', `/v1/conversations/${conversationId()}`, await accessToken())
    expect(conversation.body.assistantId).toBe(created.body.id)
    expect(conversation.body.modelId).toBe(modelId)
  })
})
