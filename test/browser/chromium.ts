/**
 * Headless Chromium for the browser tests: Debian's `chromium` package (/usr/bin/chromium) driven by playwright-core,
 * with the flags below. A missing browser fails the tests (never skips them): `.ci/run` installs it.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'

export const CHROMIUM = '/usr/bin/chromium'
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is missing at ${CHROMIUM}: install it (apt-get install -y chromium; .ci/run does)`)
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true })
}

/**
 * What a context's pages did that they must not: requests to any origin but `origin` (aborted, and recorded),
 * console errors, uncaught exceptions, and dialogs (an injected `alert` would open one).
 */
export class Watch {
  readonly foreignRequests: string[] = []
  readonly consoleErrors: string[] = []
  readonly pageErrors: string[] = []
  readonly dialogs: string[] = []

  constructor(readonly origin: string) {}

  async attach(context: BrowserContext): Promise<void> {
    await context.route(
      (url) => url.origin !== this.origin && /^(https?|wss?):$/.test(url.protocol),
      (route) => {
        this.foreignRequests.push(route.request().url())
        return route.abort('blockedbyclient')
      },
    )
    context.on('request', (request) => {
      const url = new URL(request.url())
      if (/^(https?|wss?):$/.test(url.protocol) && url.origin !== this.origin && !this.foreignRequests.includes(request.url())) this.foreignRequests.push(request.url())
    })
    for (const page of context.pages()) this.page(page)
    context.on('page', (page) => this.page(page))
  }

  private page(page: Page): void {
    page.on('console', (message) => {
      if (message.type() === 'error') this.consoleErrors.push(`${page.url()}: ${message.text()}`)
    })
    page.on('pageerror', (error) => this.pageErrors.push(`${page.url()}: ${error.message}`))
    page.on('dialog', (dialog) => {
      this.dialogs.push(`${dialog.type()}: ${dialog.message()}`)
      void dialog.dismiss()
    })
  }

  /** Everything recorded since the last call, for one assertion that names all of it. */
  take() {
    const taken = { foreignRequests: [...this.foreignRequests], consoleErrors: [...this.consoleErrors], pageErrors: [...this.pageErrors], dialogs: [...this.dialogs] }
    for (const list of [this.foreignRequests, this.consoleErrors, this.pageErrors, this.dialogs]) list.length = 0
    return taken
  }
}

export const NO_PROBLEMS = { foreignRequests: [], consoleErrors: [], pageErrors: [], dialogs: [] }
