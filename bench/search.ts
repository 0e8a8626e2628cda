/**
 * `npm run bench -- --search-only`: full-text search latency over a large index (issue 13). In one process: the real
 * app over a fresh SQLite file (migrations applied, so the FTS5 index and its triggers are those of production),
 * `--search-messages` messages (default 100,000) inserted straight into SQLite in 1,000 conversations of 10 users
 * of one workspace (half private, half shared), queued by the triggers as a turn's writes are and indexed one conversation (100 messages) per batch; then GET /v1/search
 * and GET /v1/conversations?q= answered by `app.request` (no sockets: the figure is the route, SQLite and JSON).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createApp } from '../src/app'
import { createBedrockEmulator } from '../src/bedrock/emulator'
import { modelClientFromConfig } from '../src/bedrock/model-client'
import { parseConfig } from '../src/config'
import { libsqlDatabase } from '../src/db/libsql'
import { indexQueuedMessages } from '../src/db/repositories/search'
import { openDatabase } from '../src/entries/local'

const USERS = 10
const CONVERSATIONS = 1_000
const SAMPLES = 50

/** A deterministic vocabulary and a skewed word choice: a few words are common, most are rare. */
function words(count: number, seed: number): string {
  const out: string[] = []
  let state = seed >>> 0
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0
    const rank = Math.floor(5_000 ** (state / 2 ** 32))
    out.push(`w${rank.toString(36)}`)
  }
  return out.join(' ')
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

export async function runSearchBench(messageCount: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'edgechat-search-bench-'))
  try {
    const config = parseConfig({ DATABASE_URL: `file:${join(dir, 'bench.db')}`, JWT_SECRET: 'search-bench-secret-0123456789-abcdefghijkl', LOG_LEVEL: 'silent' })
    const client = await openDatabase(config)
    const db = libsqlDatabase(client)
    const app = createApp({ config, db, models: modelClientFromConfig(config, { emulator: createBedrockEmulator }).models })
    const call = async (method: string, path: string, token?: string, body?: unknown) => {
      const res = await app.request(path, {
        method,
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      })
      if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`)
      return (await res.json()) as Record<string, unknown> & { data?: unknown[] }
    }
    const owner = await call('POST', '/v1/auth/register', undefined, { email: 'owner@bench.test', password: 'correct horse battery' })
    const ownerToken = owner.accessToken as string
    const workspace = (await call('POST', '/v1/workspaces', ownerToken, { name: 'Bench' })) as { id: string }
    const tokens: string[] = [ownerToken]
    const userIds: string[] = [(owner.user as { id: string }).id]
    for (let i = 1; i < USERS; i++) {
      const user = await call('POST', '/v1/auth/register', undefined, { email: `user${i}@bench.test`, password: 'correct horse battery' })
      const invitation = (await call('POST', `/v1/workspaces/${workspace.id}/members`, ownerToken, { email: `user${i}@bench.test`, role: 'member' })) as { id: string }
      await call('POST', `/v1/me/invitations/${invitation.id}/accept`, user.accessToken as string)
      tokens.push(user.accessToken as string)
      userIds.push((user.user as { id: string }).id)
    }

    const perConversation = Math.ceil(messageCount / CONVERSATIONS)
    const started = performance.now()
    const now = Date.now()
    let inserted = 0
    for (let c = 0; c < CONVERSATIONS && inserted < messageCount; c++) {
      const conversationId = `conv_bench${String(c).padStart(8, '0')}`
      const statements = [
        {
          sql: `INSERT INTO conversations (id, workspace_id, user_id, title, visibility, archived, metadata, stored_bytes, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 0, '{}', 0, ?, ?)`,
          args: [conversationId, workspace.id, userIds[c % USERS]!, words(4, c + 1), c % 2 === 0 ? 'private' : 'workspace', now + c, now + c],
        },
      ]
      let parent: string | null = null
      for (let m = 0; m < perConversation && inserted < messageCount; m++, inserted++) {
        const id = `msg_bench${String(c).padStart(6, '0')}${String(m).padStart(6, '0')}`
        statements.push({
          sql: `INSERT INTO messages (id, conversation_id, parent_id, role, parts, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'complete', ?, ?)`,
          args: [id, conversationId, parent, m % 2 === 0 ? 'user' : 'assistant', JSON.stringify([{ type: 'text', text: words(m % 2 === 0 ? 15 : 60, c * 1_000 + m) }]), now, now],
        } as never)
        parent = id
      }
      await client.batch(statements as never, 'write')
      await indexQueuedMessages(db)
    }
    const insertSeconds = (performance.now() - started) / 1000
    const indexed = await client.execute('SELECT count(*) AS n FROM search_documents')

    const measure = async (label: string, path: (i: number) => string) => {
      const times: number[] = []
      let hits = 0
      for (let i = 0; i < SAMPLES; i++) {
        const t0 = performance.now()
        const page = await call('GET', path(i), tokens[i % USERS])
        times.push(performance.now() - t0)
        hits += page.data?.length ?? 0
      }
      times.sort((a, b) => a - b)
      console.log(
        `  ${label.padEnd(44)} p50 ${percentile(times, 0.5).toFixed(1).padStart(7)} ms   p95 ${percentile(times, 0.95).toFixed(1).padStart(7)} ms   ${(hits / SAMPLES).toFixed(1)} hits/page`,
      )
    }
    console.log(`search bench: ${inserted.toLocaleString('en')} messages in ${CONVERSATIONS} conversations, ${USERS} users (half the conversations shared)`)
    console.log(`  inserted and indexed in ${insertSeconds.toFixed(1)} s (${Math.round(inserted / insertSeconds).toLocaleString('en')} messages/s); ${indexed.rows[0]!.n} index documents`)
    console.log(`  ${SAMPLES} requests each, in-process (app.request), limit 20:`)
    const common = ['w1', 'w2', 'w3', 'w4', 'w5']
    const rare = Array.from({ length: SAMPLES }, (_, i) => `w${(4_000 + i * 19).toString(36)}`)
    await measure('GET /v1/search, a common word', (i) => `/v1/search?q=${common[i % common.length]}`)
    await measure('GET /v1/search, a rare word', (i) => `/v1/search?q=${rare[i]}`)
    await measure('GET /v1/search, two words', (i) => `/v1/search?q=${common[i % common.length]}%20${rare[i]}`)
    await measure('GET /v1/search, a prefix (as typed)', (i) => `/v1/search?q=${rare[i]!.slice(0, 3)}`)
    await measure('GET /v1/conversations?q=, a rare word', (i) => `/v1/conversations?q=${rare[i]}`)
    client.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
