/**
 * The real Node and Bun entries (`npm start`, `npm run start:bun`) in production mode with no AWS keys at all, only
 * container credentials as ECS and EKS Pod Identity provide them: AWS_CONTAINER_CREDENTIALS_FULL_URI points at a
 * local stand-in that wants the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, and BEDROCK_ENDPOINT at a
 * standalone emulator that accepts only the credentials that stand-in hands out (session token included).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createBedrockEmulator } from '../../src/bedrock/emulator'
import { ConfigSchema } from '../../src/config'
import { startContainerStandIn, type StandIn } from '../bedrock/aws-stand-ins'
import { listen, type RunningServer } from '../bedrock/http-server'
import { freePort } from '../ports'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const BIN = join(ROOT, 'node_modules', '.bin')
const runtimes = [
  { runtime: 'node', command: join(BIN, 'tsx'), args: ['src/entries/node.ts'] },
  { runtime: 'bun', command: join(BIN, 'bun'), args: ['src/entries/bun.ts'] },
] as const
/** Production shows /ready's checks only to the operator. */
const METRICS_TOKEN = 'operator-token-0123456789'

let dir: string
let tokenFile: string
let credentials: StandIn
let emulator: RunningServer
const verified: number[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgechat-aws-e2e-'))
  tokenFile = join(dir, 'pod-identity-token')
  writeFileSync(tokenFile, 'pod-identity-token-value\n')
  credentials = await startContainerStandIn({ path: '/v1/credentials', expectedAuthorization: () => 'pod-identity-token-value' })
  emulator = await listen(async (request) => {
    const accepted = credentials.issued.map(({ accessKeyId, secretAccessKey, sessionToken }) => ({ accessKeyId, secretAccessKey, sessionToken }))
    const response = await createBedrockEmulator({ credentials: accepted, sleep: async () => {} }).fetch(request)
    verified.push(response.status)
    return response
  })
})

afterAll(async () => {
  await credentials?.close()
  await emulator?.close()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

interface Started {
  child: ChildProcess
  baseUrl: string
  output(): string
}

async function startServer(target: (typeof runtimes)[number]): Promise<Started> {
  const port = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const env: Record<string, string | undefined> = { ...process.env }
  for (const name of Object.keys(ConfigSchema.shape)) delete env[name]
  const child = spawn(target.command, [...target.args], {
    cwd: ROOT,
    env: {
      ...env,
      NODE_ENV: 'production',
      PORT: String(port),
      HOST: '127.0.0.1',
      JWT_SECRET: 's'.repeat(40),
      DATABASE_URL: `file:${join(dir, `${target.runtime}.db`)}`,
      LOG_LEVEL: 'warn',
      METRICS_TOKEN,
      // One Bedrock call per turn to count: a generated title would be a second one, made in the background.
      GENERATE_TITLES: 'false',
      AWS_CONTAINER_CREDENTIALS_FULL_URI: `${credentials.url}/v1/credentials`,
      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: tokenFile,
      BEDROCK_ENDPOINT: emulator.url,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  let output = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk))
  const started = { child, baseUrl, output: () => output.slice(-4000) }
  const deadline = Date.now() + 20_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}\n${output}`)
    const ok = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(1_000) }).then((res) => res.ok, () => false)
    if (ok) return started
    if (Date.now() > deadline) {
      await stopServer(started)
      throw new Error(`server did not start\n${output}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function stopServer({ child }: Started): Promise<void> {
  if (child.pid === undefined) return
  if (child.exitCode === null) {
    const closed = new Promise((r) => child.once('close', r))
    child.kill('SIGTERM')
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5_000).unref())])
  }
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

async function request(baseUrl: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.body ? { 'content-type': 'application/json' } : {}) },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(20_000),
  })
  const body = (await res.json()) as any
  return { status: res.status, body }
}

describe.each(runtimes)('$runtime entry with container credentials and no AWS keys', (target) => {
  let server: Started
  beforeAll(async () => {
    server = await startServer(target)
  }, 40_000)
  afterAll(() => server && stopServer(server))

  it('completes a turn signed with the credentials from the container endpoint', async () => {
    const json = (path: string, init?: Parameters<typeof request>[2]) => request(server.baseUrl, path, init)
    const before = { requests: credentials.requests.length, verified: verified.length }
    try {
      const ready = await json('/ready', { token: METRICS_TOKEN })
      expect(ready.status, JSON.stringify(ready.body)).toBe(200)
      expect(ready.body.checks.bedrock.message).toBe(`${emulator.url} in us-east-1, credentials from the container credentials endpoint`)
      const registered = await json('/v1/auth/register', { method: 'POST', body: { email: `role-${target.runtime}@example.com`, password: 'correct horse battery', name: 'Role' } })
      expect(registered.status).toBe(201)
      const token = registered.body.accessToken as string
      const conversation = await json('/v1/conversations', { method: 'POST', token, body: {} })
      expect(conversation.status).toBe(201)
      const turn = await json(`/v1/conversations/${conversation.body.id}/messages`, {
        method: 'POST',
        token,
        body: { content: 'Hello through a task role', stream: false },
      })
      expect(turn.status, JSON.stringify(turn.body)).toBe(201)
      expect(turn.body.assistantMessage.status).toBe('complete')
      expect(turn.body.assistantMessage.parts[0].text).toContain('You said: "Hello through a task"')
      const fetched = credentials.requests.slice(before.requests)
      expect(fetched).toHaveLength(1)
      expect(fetched[0]!.headers.authorization).toBe('pod-identity-token-value')
      expect(verified.slice(before.verified)).toEqual([200])
    } catch (error) {
      if (error instanceof Error) error.message += `\n--- server output ---\n${server.output()}`
      throw error
    }
  })
})
