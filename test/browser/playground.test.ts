/**
 * The playground at `/` in headless Chromium (playwright-core, Debian's /usr/bin/chromium) against the app as
 * `npm start` wires it, answering from the built-in Bedrock emulator (steered with `[[emulator …]]` directives in the
 * message). One browser context, as one person: the tests run in order and build on each other. After each: no
 * request left for another origin, no console error, no uncaught exception, no dialog.
 */
import { mkdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { launchChromium, NO_PROBLEMS, Watch } from './chromium'
import { startServer } from './server'

const ARTIFACTS = join(import.meta.dirname, '../../.tmp/browser')
const PASSWORD = 'correct horse battery'
const email = `playground-${crypto.randomUUID().slice(0, 8)}@example.com`

let server: Awaited<ReturnType<typeof startServer>>
let browser: Browser
let context: BrowserContext
let page: Page
let watch: Watch

beforeAll(async () => {
  mkdirSync(ARTIFACTS, { recursive: true })
  server = await startServer()
  browser = await launchChromium()
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  watch = new Watch(server.origin)
  await watch.attach(context)
  page = await context.newPage()
})

afterAll(async () => {
  await browser?.close()
  await server?.close()
})

afterEach(() => {
  expect(watch.take()).toEqual(NO_PROBLEMS)
})

const messageBox = (on: Page = page) => on.getByLabel('Message', { exact: true })
const lastAssistant = (on: Page = page) => on.locator('#messages li.message.assistant').last()
const conversationId = (on: Page = page) => new URL(on.url()).hash.slice(1)

interface Session {
  accessToken: string
  refreshToken: string
  expiresAt: number
}
const session = (on: Page = page) => on.evaluate(() => JSON.parse(localStorage.getItem('edgechat.session') ?? 'null') as Session | null)

/** Waits until the last answer streams (status "streaming") and shows at least `words` words. */
async function streamingWith(on: Page, words: number): Promise<string> {
  await on.waitForFunction((count) => {
    const items = document.querySelectorAll<HTMLElement>('#messages li.message.assistant')
    const last = items[items.length - 1]
    return last?.dataset.status === 'streaming' && (last.querySelector('.text')?.textContent ?? '').split(' ').filter(Boolean).length >= count
  }, words)
  return (await lastAssistant(on).locator('.text').textContent()) ?? ''
}

async function finished(on: Page, status = 'complete'): Promise<string> {
  await on.locator(`#messages li.message.assistant[data-status="${status}"]`).last().waitFor()
  await on.waitForFunction((wanted) => {
    const items = document.querySelectorAll<HTMLElement>('#messages li.message.assistant')
    return items[items.length - 1]?.dataset.status === wanted && document.querySelector('#messages')?.getAttribute('aria-busy') === 'false'
  }, status)
  return (await lastAssistant(on).locator('.text').textContent()) ?? ''
}

/** The conversation's messages as the server stored them (the test's own client, with the page's token). */
async function stored(id: string) {
  const token = (await session())!.accessToken
  const reply = await server.api('GET', `/v1/conversations/${id}/messages?limit=100`, token)
  expect(reply.status).toBe(200)
  return reply.body.data as { id: string; role: string; status: string; parts: { type: string; text?: string }[]; usage: { inputTokens: number; outputTokens: number } | null }[]
}
const textOf = (message: { parts: { type: string; text?: string }[] }) => message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')

describe('the playground in Chromium', { timeout: 90_000 }, () => {
  it('registers a new account and shows the models the server offers', async () => {
    await page.goto(`${server.origin}/`)
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Register' }).click()
    await page.locator('#who', { hasText: email }).waitFor()
    expect(await page.getByRole('button', { name: 'New chat' }).isVisible()).toBe(true)
    const tokens = await session()
    expect(tokens?.refreshToken).toBeTruthy()
    const me = await server.api('GET', '/v1/me', tokens!.accessToken)
    expect(me.body.user.email).toBe(email)
    const models = (await server.api('GET', '/v1/models', tokens!.accessToken)).body.data as { id: string; default: boolean }[]
    expect(await page.getByLabel('Model').locator('option').evaluateAll((options) => options.map((option) => (option as HTMLOptionElement).value))).toEqual(models.map((model) => model.id))
    expect(await page.getByLabel('Model').inputValue()).toBe(models.find((model) => model.default)!.id)
  })

  it('sends with the keyboard and streams the answer, then shows its token usage', async () => {
    await messageBox().fill('[[emulator tokens=40 delay=60]] Tell me a story')
    await messageBox().press('Enter')
    const partial = await streamingWith(page, 3)
    const answer = await finished(page)
    expect(answer.length).toBeGreaterThan(partial.length)
    expect(answer.startsWith(partial)).toBe(true)
    expect(answer.split(' ')).toHaveLength(40)
    const id = conversationId()
    expect(id).toMatch(/^conv_/)
    const [user, assistant] = await stored(id)
    expect(textOf(user!)).toBe('[[emulator tokens=40 delay=60]] Tell me a story')
    expect(textOf(assistant!)).toBe(answer)
    expect(assistant!.usage!.outputTokens).toBe(40)
    expect(await lastAssistant().locator('.meta').textContent()).toBe(`Tokens: ${assistant!.usage!.inputTokens} in, 40 out`)
    expect(await page.locator('#conversations a[aria-current]').getAttribute('href')).toBe(`#${id}`)
    expect(await page.getByRole('button', { name: 'Send' }).isEnabled()).toBe(true)
    expect(await page.getByRole('button', { name: 'Stop' }).isDisabled()).toBe(true)
  })

  it('stops an answer: the generation is cancelled and the partial text kept', async () => {
    await messageBox().fill('[[emulator tokens=400 delay=50]] Go on and on')
    await page.getByRole('button', { name: 'Send' }).click()
    await streamingWith(page, 3)
    const stop = page.getByRole('button', { name: 'Stop' })
    await page.waitForFunction(() => !(document.getElementById('stop') as HTMLButtonElement).disabled)
    await stop.click()
    const kept = await finished(page, 'cancelled')
    expect(kept.split(' ').length).toBeGreaterThanOrEqual(3)
    expect(kept.split(' ').length).toBeLessThan(400)
    expect(await lastAssistant().locator('.meta').textContent()).toMatch(/^Stopped/)
    const assistant = (await stored(conversationId())).at(-1)!
    expect(assistant.status).toBe('cancelled')
    expect(textOf(assistant)).toBe(kept)
  })

  it('resumes a streaming answer after a reload, from the conversation stream, without losing or repeating text', async () => {
    await messageBox().fill('[[emulator tokens=300 delay=50]] Keep going')
    await page.getByRole('button', { name: 'Send' }).click()
    await streamingWith(page, 5)
    const attaches: string[] = []
    page.on('request', (request) => {
      if (request.url().endsWith(`/v1/conversations/${conversationId()}/stream`)) attaches.push(request.url())
    })
    await page.reload()
    const resumed = await streamingWith(page, 1)
    expect(attaches).toHaveLength(1)
    const answer = await finished(page)
    expect(answer.startsWith(resumed)).toBe(true)
    expect(answer.split(' ')).toHaveLength(300)
    expect(textOf((await stored(conversationId())).at(-1)!)).toBe(answer)
  })

  it('a second tab on the same conversation follows an answer started in the first', async () => {
    const second = await context.newPage()
    await second.goto(`${server.origin}/#${conversationId()}`)
    await second.locator('#messages li.message.assistant[data-status="complete"]').first().waitFor()
    await messageBox().fill('[[emulator tokens=160 delay=50]] Both tabs')
    await page.getByRole('button', { name: 'Send' }).click()
    await streamingWith(second, 2)
    const followed = await finished(second)
    const answer = await finished(page)
    expect(followed).toBe(answer)
    expect(followed.split(' ')).toHaveLength(160)
    await second.close()
  })

  it('another browser logged in as the same person follows through the server alone', async () => {
    const other = await browser.newContext({ viewport: { width: 1280, height: 800 } })
    await watch.attach(other)
    const elsewhere = await other.newPage()
    await elsewhere.goto(`${server.origin}/#${conversationId()}`)
    await elsewhere.getByLabel('Email').fill(email)
    await elsewhere.getByLabel('Password').fill(PASSWORD)
    await elsewhere.getByRole('button', { name: 'Log in' }).click()
    await elsewhere.locator('#messages li.message.assistant[data-status="complete"]').first().waitFor()
    await messageBox().fill('[[emulator tokens=240 delay=50]] Across browsers')
    await page.getByRole('button', { name: 'Send' }).click()
    await streamingWith(elsewhere, 2)
    const followed = await finished(elsewhere)
    expect(followed).toBe(await finished(page))
    await other.close()
  })

  it('shows an answer containing HTML as text: no element is created and no script runs', async () => {
    const html = '<img src=x onerror=alert(1)>'
    await messageBox().fill(html)
    await page.getByRole('button', { name: 'Send' }).click()
    const answer = await finished(page)
    expect(answer).toBe(`You said: "${html}". This is the Bedrock emulator.`)
    expect(await page.locator('#messages li.message.user').last().locator('.text').textContent()).toBe(html)
    expect(await page.locator('img').count()).toBe(0)
    expect(await page.evaluate(() => document.querySelectorAll('[onerror]').length)).toBe(0)
  })

  it('starts a new chat (once, however fast Enter is pressed) and finds conversations by search', async () => {
    const first = conversationId()
    await page.getByRole('button', { name: 'New chat' }).click()
    expect(await page.locator('#messages li').count()).toBe(0)
    await messageBox().fill('Quokka facts please')
    // Enter twice in one task, before the conversation exists: still one conversation, one turn.
    await messageBox().evaluate((box) => {
      for (let i = 0; i < 2; i++) box.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }))
    })
    await finished(page)
    expect(await page.locator('#messages li.message.user').count()).toBe(1)
    const second = conversationId()
    expect(second).not.toBe(first)
    await page.locator('#conversations a').nth(1).waitFor()
    expect(await page.locator('#conversations a').count()).toBe(2)
    await page.getByLabel('Search conversations').fill('Quokka')
    await page.waitForFunction(() => document.querySelectorAll('#conversations a').length === 1)
    expect(await page.locator('#conversations a').getAttribute('href')).toBe(`#${second}`)
    await page.getByLabel('Search conversations').fill('')
    await page.waitForFunction(() => document.querySelectorAll('#conversations a').length === 2)
    await page.locator(`#conversations a[href="#${first}"]`).click()
    await page.locator('#messages li.message.user', { hasText: 'Tell me a story' }).waitFor()
    expect(conversationId()).toBe(first)
  })

  it('refreshes an expiring session, rotating the refresh token', async () => {
    const before = (await session())!
    const refreshes: string[] = []
    page.on('request', (request) => {
      if (request.url().endsWith('/v1/auth/refresh')) refreshes.push(request.method())
    })
    await page.evaluate(() => {
      const stored = JSON.parse(localStorage.getItem('edgechat.session')!)
      localStorage.setItem('edgechat.session', JSON.stringify({ ...stored, expiresAt: Date.now() }))
    })
    // The page may refresh before the reload too (its periodic check): either way the session goes on.
    await page.reload()
    await page.locator('#who', { hasText: email }).waitFor()
    await page.locator('#messages li.message').first().waitFor()
    const after = (await session())!
    expect(refreshes.length).toBeGreaterThanOrEqual(1)
    expect(new Set(refreshes)).toEqual(new Set(['POST']))
    expect(after.refreshToken).not.toBe(before.refreshToken)
    expect(after.accessToken).not.toBe(before.accessToken)
    expect(after.expiresAt).toBeGreaterThan(Date.now())
    expect((await server.api('GET', '/v1/me', after.accessToken)).status).toBe(200)
  })

  it('is usable from the keyboard: Tab order through the composer, Escape stops an answer', async () => {
    await messageBox().focus()
    await page.keyboard.press('Tab')
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Send')
    await messageBox().fill('[[emulator tokens=400 delay=50]] Escape me')
    await messageBox().press('Enter')
    await streamingWith(page, 2)
    await page.waitForFunction(() => !(document.getElementById('stop') as HTMLButtonElement).disabled)
    await messageBox().press('Escape')
    await finished(page, 'cancelled')
  })

  it('reads on a phone-sized screen, and leaves screenshots as test artifacts', async () => {
    await page.locator('#conversations a', { hasText: 'Quokka' }).click()
    await page.locator('#messages li.message.user', { hasText: 'Quokka' }).waitFor()
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') })
    await page.setViewportSize({ width: 390, height: 844 })
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390)
    for (const name of ['Message', 'Send', 'Stop', 'New chat']) {
      const box = await (name === 'Message' ? messageBox() : page.getByRole('button', { name })).boundingBox()
      expect(box, name).not.toBeNull()
      expect(box!.x + box!.width, name).toBeLessThanOrEqual(390)
    }
    await page.screenshot({ path: join(ARTIFACTS, 'playground-phone.png'), fullPage: true })
    for (const file of ['playground.png', 'playground-phone.png']) expect(statSync(join(ARTIFACTS, file)).size).toBeGreaterThan(10_000)
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('logs out, then logs back in to the same conversations', async () => {
    await page.getByRole('button', { name: 'Log out' }).click()
    await page.getByLabel('Email').waitFor()
    expect(await session()).toBeNull()
    await page.getByLabel('Email').fill(email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Log in' }).click()
    await page.locator('#who', { hasText: email }).waitFor()
    await page.locator('#conversations a').nth(1).waitFor()
    expect(await page.locator('#conversations a').count()).toBe(2)
  })
})
