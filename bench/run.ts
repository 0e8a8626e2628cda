/**
 * `npm run bench`: EdgeChat's streaming cost against the floor of this runtime. See bench/README.md.
 *
 * Processes: this script is the load generator; the Bedrock emulator, the EdgeChat Node server and the floor relay
 * (bench/floor.mjs) are child processes, and all traffic goes to 127.0.0.1. (The emulator and the floor listen on
 * 127.0.0.1 only; src/entries/node.ts has no host setting, so EdgeChat listens on every interface while it runs.) EdgeChat and the emulator run from an esbuild bundle
 * of their real entries (src/entries/node.ts, src/entries/emulator.ts; dependencies stay in node_modules) so the
 * server's CPU figures contain no tsx transform work and /proc/<pid> is the server itself, not a wrapper.
 *
 * The figures of one target are taken in a measured phase only (after a warm-up): server CPU from
 * /proc/<pid>/stat (utime + stime, every thread, so libsql's and undici's work counts) before and after the
 * phase; peak RSS is the process's VmHWM (lifetime high-water mark, warm-up included); TTFT is client-side,
 * from just before the request is written to the first chunk that contains a `text.delta` event.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { createServer } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { build } from 'esbuild'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const HOST = '127.0.0.1'
const EMULATOR_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' }

// ---------------------------------------------------------------------------------------------------------
// Options and scenarios
// ---------------------------------------------------------------------------------------------------------

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '50' },
    turns: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '3' },
    tokens: { type: 'string', default: '50' },
    delay: { type: 'string', default: '0' },
    ttft: { type: 'string', default: '0' },
    rounds: { type: 'string', default: '2' },
    'log-level': { type: 'string', default: 'warn' },
    'with-logging': { type: 'boolean', default: false },
    compare: { type: 'string' },
    'cpu-prof': { type: 'string' },
    'keep-temp': { type: 'boolean', default: false },
    'db-dir': { type: 'string' },
    detail: { type: 'boolean', default: false },
    json: { type: 'string' },
    timeout: { type: 'string', default: '300' },
    help: { type: 'boolean', default: false },
  },
})

if (args.help) {
  console.log(`npm run bench -- [--users 50] [--turns 10] [--warmup 3] [--tokens 50] [--delay 0] [--ttft 0]
  [--rounds 2] [--timeout 300] [--log-level warn] [--with-logging] [--compare DIR] [--cpu-prof DIR] [--db-dir DIR] [--detail]
  [--keep-temp] [--json FILE]
See bench/README.md.`)
  process.exit(0)
}

const int = (name: string, value: string | undefined, min: number) => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`)
  return n
}

/**
 * One load shape. Emulator pacing is per request (directives in the user text), so scenarios with pacing (issue 4:
 * ttft=200, delay=10, 200 streams) reuse the same processes.
 */
interface Scenario {
  name: string
  users: number
  turnsPerUser: number
  warmupTurnsPerUser: number
  rounds: number
  tokens: number
  delayMs: number
  ttftMs: number
}

const scenario: Scenario = {
  name: args.delay !== '0' || args.ttft !== '0' ? 'paced' : 'unpaced',
  users: int('users', args.users, 1),
  turnsPerUser: int('turns', args.turns, 1),
  warmupTurnsPerUser: int('warmup', args.warmup, 0),
  rounds: int('rounds', args.rounds, 1),
  tokens: int('tokens', args.tokens, 1),
  delayMs: int('delay', args.delay, 0),
  ttftMs: int('ttft', args.ttft, 0),
}

const TURN_TIMEOUT_MS = 30_000
const START_TIMEOUT_MS = 30_000
const TOTAL_TIMEOUT_MS = int('timeout', args.timeout, 10) * 1000
const TARGET_CPU_RATIO = 2

// ---------------------------------------------------------------------------------------------------------
// Child processes: spawned with their output in files under the temp dir, killed on any exit
// ---------------------------------------------------------------------------------------------------------

const children = new Set<ChildProcess>()
const cleanups: (() => void)[] = []

function cleanup() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  children.clear()
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      fn()
    } catch {
      // best effort
    }
  }
}

process.once('exit', cleanup)
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    console.error(`\nbench: ${signal}, stopping children`)
    cleanup()
    process.exit(130)
  })
}
const watchdog = setTimeout(() => {
  console.error(`bench: gave up after ${TOTAL_TIMEOUT_MS / 1000} s`)
  cleanup()
  process.exit(2)
}, TOTAL_TIMEOUT_MS)

interface Proc {
  name: string
  child: ChildProcess
  pid: number
  logFile: string
  exited: Promise<void>
}

function startProcess(name: string, argv: string[], env: Record<string, string>, dir: string): Proc {
  const logFile = join(dir, `${name.replace(/\W+/g, '-')}.log`)
  const fd = openSync(logFile, 'w')
  const child = spawn(process.execPath, argv, {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), ...env },
    stdio: ['ignore', fd, fd],
  })
  closeSync(fd)
  children.add(child)
  const exited = new Promise<void>((done) => child.once('exit', () => done()))
  if (child.pid === undefined) throw new Error(`could not start ${name}`)
  return { name, child, pid: child.pid, logFile, exited }
}

function logTail(proc: Proc, bytes = 2000): string {
  try {
    const text = readFileSync(proc.logFile, 'utf8')
    return text.slice(-bytes)
  } catch {
    return '(no output)'
  }
}

async function stopProcess(proc: Proc): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return
  proc.child.kill('SIGTERM')
  const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000)
  await proc.exited
  clearTimeout(timer)
  children.delete(proc.child)
}

async function freePort(): Promise<number> {
  return new Promise((done, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, HOST, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') return reject(new Error('no port assigned'))
      server.close(() => done(address.port))
    })
  })
}

/** Waits until `path` answers over HTTP (any status), failing early when the process exits. */
async function waitForHttp(proc: Proc, port: number, path: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS
  let exited = false
  void proc.exited.then(() => (exited = true))
  for (;;) {
    if (exited) throw new Error(`${proc.name} exited during start-up:\n${logTail(proc)}`)
    const ok = await new Promise<boolean>((done) => {
      const req = http.get({ host: HOST, port, path, timeout: 1_000 }, (res) => {
        res.resume()
        done(true)
      })
      req.on('error', () => done(false))
      req.on('timeout', () => req.destroy())
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`${proc.name} did not answer within ${START_TIMEOUT_MS} ms:\n${logTail(proc)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// ---------------------------------------------------------------------------------------------------------
// /proc readings (Linux)
// ---------------------------------------------------------------------------------------------------------

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime + stime of every thread of `pid`, in ms (resolution 1000/CLK_TCK ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
}

/** CPU ms of `pid`'s main thread and of its other threads by name (comm), for --detail. */
function threadCpuMs(pid: number): Map<string, number> {
  const byName = new Map<string, number>()
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      const name = tid === String(pid) ? 'main' : `other ${stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))}`
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      byName.set(name, (byName.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK)
    } catch {
      // the thread ended
    }
  }
  return byName
}

/** Write-type syscalls (write, writev, send…) made by `pid` so far: socket writes per turn, for --detail. */
function writeSyscalls(pid: number): number {
  const match = /^syscw:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))
  return match ? Number(match[1]) : Number.NaN
}

function statusKb(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) : Number.NaN
}

// ---------------------------------------------------------------------------------------------------------
// The load generator
// ---------------------------------------------------------------------------------------------------------

interface JsonResponse {
  status: number
  body: any
}

function requestJson(agent: http.Agent, port: number, method: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<JsonResponse> {
  const payload = body === undefined ? '' : JSON.stringify(body)
  return new Promise((done, reject) => {
    const req = http.request(
      { host: HOST, port, method, path, agent, headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } },
      (res) => {
        let text = ''
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk))
        res.on('end', () => {
          try {
            done({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null })
          } catch {
            done({ status: res.statusCode ?? 0, body: text })
          }
        })
        res.on('error', reject)
      },
    )
    req.setTimeout(TURN_TIMEOUT_MS, () => req.destroy(new Error(`${method} ${path} timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}

interface TurnResult {
  ok: boolean
  error?: string
  ttftMs: number
  totalMs: number
}

const TEXT_DELTA = 'event: text.delta\n'

/** One streamed turn: POST, then read the SSE body to its end, checking it carried `tokens` deltas and completed. */
function streamTurn(agent: http.Agent, port: number, path: string, headers: Record<string, string>, content: string, tokens: number): Promise<TurnResult> {
  const payload = JSON.stringify({ content, stream: true })
  return new Promise((done) => {
    const started = performance.now()
    let ttftMs = Number.NaN
    let settled = false
    const finish = (result: Omit<TurnResult, 'ttftMs' | 'totalMs'>) => {
      if (settled) return
      settled = true
      done({ ...result, ttftMs, totalMs: performance.now() - started })
    }
    const req = http.request(
      {
        host: HOST,
        port,
        method: 'POST',
        path,
        agent,
        headers: { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), accept: 'text/event-stream' },
      },
      (res) => {
        let text = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => {
          text += chunk
          if (Number.isNaN(ttftMs) && text.includes(TEXT_DELTA)) ttftMs = performance.now() - started
        })
        res.on('end', () => {
          if (res.statusCode !== 200) return finish({ ok: false, error: `HTTP ${res.statusCode}: ${text.slice(0, 200)}` })
          const deltas = text.split(TEXT_DELTA).length - 1
          if (!text.includes('event: generation.completed\n')) return finish({ ok: false, error: `no generation.completed (${text.slice(-200)})` })
          if (deltas !== tokens) return finish({ ok: false, error: `${deltas} text.delta events, expected ${tokens}` })
          finish({ ok: true })
        })
        res.on('error', (error) => finish({ ok: false, error: String(error) }))
      },
    )
    req.setTimeout(TURN_TIMEOUT_MS, () => req.destroy(new Error('turn timed out')))
    req.on('error', (error) => finish({ ok: false, error: String(error) }))
    req.end(payload)
  })
}

/** What a user needs to send turns to a target: where and with which headers. */
interface Session {
  path: string
  headers: Record<string, string>
}

interface Target {
  name: string
  proc: Proc
  port: number
  agent: http.Agent
  /** One session per user for a phase (EdgeChat: a fresh conversation each, so history length is the same every phase). */
  sessions(users: number, phase: string): Promise<Session[]>
}

interface PhaseResult {
  turns: TurnResult[]
  wallMs: number
  cpuMs: number
  /** The main thread's share of cpuMs, and the server's write syscalls (with --detail). */
  mainCpuMs: number
  writes: number
}

const directive = (s: Scenario) => `[[emulator tokens=${s.tokens} delay=${s.delayMs} ttft=${s.ttftMs}]]`

/** `users` concurrent users, each sending `turnsPerUser` turns one after another (one active generation each). */
async function runPhase(target: Target, s: Scenario, turnsPerUser: number, phase: string): Promise<PhaseResult> {
  const sessions = await target.sessions(s.users, phase)
  await new Promise((r) => setTimeout(r, 200)) // let start-up and session work settle out of the CPU window
  const turns: TurnResult[] = []
  const cpuBefore = cpuMs(target.proc.pid)
  const mainBefore = args.detail ? threadCpuMs(target.proc.pid).get('main') ?? 0 : 0
  const writesBefore = args.detail ? writeSyscalls(target.proc.pid) : 0
  const started = performance.now()
  await Promise.all(
    sessions.map(async (session, user) => {
      for (let i = 0; i < turnsPerUser; i++) {
        const content = `Bench ${phase} user ${user} turn ${i}: tell me something. ${directive(s)}`
        turns.push(await streamTurn(target.agent, target.port, session.path, session.headers, content, s.tokens))
      }
    }),
  )
  const wallMs = performance.now() - started
  if (target.proc.child.exitCode !== null || target.proc.child.signalCode !== null) {
    throw new Error(`${target.name} exited during the ${phase} phase:\n${logTail(target.proc)}`)
  }
  const cpu = cpuMs(target.proc.pid) - cpuBefore
  const mainCpuMs = args.detail ? (threadCpuMs(target.proc.pid).get('main') ?? 0) - mainBefore : Number.NaN
  const writes = args.detail ? writeSyscalls(target.proc.pid) - writesBefore : Number.NaN
  return { turns, wallMs, cpuMs: cpu, mainCpuMs, writes }
}

// ---------------------------------------------------------------------------------------------------------
// Targets
// ---------------------------------------------------------------------------------------------------------

async function startEdgeChat(name: string, bundle: string, dir: string, emulatorUrl: string, logLevel: string, cpuProfDir?: string): Promise<Target> {
  const port = await freePort()
  const argv = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`, bundle] : [bundle]
  // A fresh SQLite file (plus its -wal and -shm), in the temp dir unless --db-dir (e.g. a tmpfs, to take fsync out).
  const dbFile = join(args['db-dir'] ? resolve(args['db-dir']) : dir, `${name.replace(/\W+/g, '-')}-${process.pid}.db`)
  if (args['db-dir'] && !args['keep-temp']) cleanups.push(() => ['', '-wal', '-shm'].forEach((suffix) => rmSync(dbFile + suffix, { force: true })))
  const proc = startProcess(name, argv, {
    NODE_ENV: 'production',
    PORT: String(port),
    DATABASE_URL: `file:${dbFile}`,
    JWT_SECRET: 'bench-secret-'.padEnd(48, 'x'),
    LOG_LEVEL: logLevel,
    BEDROCK_EMULATOR: 'off',
    BEDROCK_ENDPOINT: emulatorUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  }, dir)
  await waitForHttp(proc, port, '/health')
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  const tokens: string[] = []

  return {
    name,
    proc,
    port,
    agent,
    async sessions(users, phase) {
      // Register the users once (PBKDF2 is slow on purpose; outside every measured window), then one
      // conversation per user per phase.
      for (let start = tokens.length; start < users; start += 10) {
        const batch = Array.from({ length: Math.min(10, users - start) }, async (_, i) => {
          const n = start + i
          const res = await requestJson(agent, port, 'POST', '/v1/auth/register', {
            email: `bench-${n}@example.com`,
            password: 'bench password 12345',
            name: `Bench ${n}`,
          })
          if (res.status !== 201) throw new Error(`register: HTTP ${res.status} ${JSON.stringify(res.body)}`)
          tokens[n] = res.body.accessToken
        })
        await Promise.all(batch)
      }
      return Promise.all(
        tokens.slice(0, users).map(async (token, n) => {
          const headers = { authorization: `Bearer ${token}` }
          const res = await requestJson(agent, port, 'POST', '/v1/conversations', { title: `bench ${phase} ${n}` }, headers)
          if (res.status !== 201) throw new Error(`create conversation: HTTP ${res.status} ${JSON.stringify(res.body)}`)
          return { path: `/v1/conversations/${res.body.id}/messages`, headers }
        }),
      )
    },
  }
}

async function startFloor(dir: string, emulatorUrl: string): Promise<Target> {
  const port = await freePort()
  const proc = startProcess('floor', [join(ROOT, 'bench', 'floor.mjs')], {
    PORT: String(port),
    BEDROCK_ENDPOINT: emulatorUrl,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  }, dir)
  await waitForHttp(proc, port, '/')
  const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity })
  return {
    name: 'floor (node:http relay)',
    proc,
    port,
    agent,
    async sessions(users) {
      return Array.from({ length: users }, (_, n) => ({ path: `/relay/${n}`, headers: {} }))
    },
  }
}

// ---------------------------------------------------------------------------------------------------------
// Figures
// ---------------------------------------------------------------------------------------------------------

interface Figures {
  target: string
  turns: number
  errors: number
  turnsPerSecond: number
  ttftP50Ms: number
  ttftP99Ms: number
  cpuMsPerTurn: number
  peakRssMb: number
  firstError?: string
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length) - 1
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))]!
}

function figures(target: Target, phases: PhaseResult[]): Figures {
  const turns = phases.flatMap((phase) => phase.turns)
  const ok = turns.filter((turn) => turn.ok)
  const ttfts = ok.map((turn) => turn.ttftMs).sort((a, b) => a - b)
  const wallMs = phases.reduce((sum, phase) => sum + phase.wallMs, 0)
  const cpu = phases.reduce((sum, phase) => sum + phase.cpuMs, 0)
  const firstError = turns.find((turn) => !turn.ok)?.error
  return {
    target: target.name,
    turns: turns.length,
    errors: turns.length - ok.length,
    turnsPerSecond: ok.length / (wallMs / 1000),
    ttftP50Ms: percentile(ttfts, 50),
    ttftP99Ms: percentile(ttfts, 99),
    cpuMsPerTurn: cpu / Math.max(1, ok.length),
    peakRssMb: statusKb(target.proc.pid, 'VmHWM') / 1024,
    ...(firstError ? { firstError } : {}),
  }
}

function table(rows: Figures[]): string {
  const header = ['target', 'turns', 'errors', 'turns/s', 'TTFT p50', 'TTFT p99', 'CPU/turn', 'peak RSS']
  const cells = rows.map((r) => [
    r.target,
    String(r.turns),
    String(r.errors),
    r.turnsPerSecond.toFixed(1),
    `${r.ttftP50Ms.toFixed(1)} ms`,
    `${r.ttftP99Ms.toFixed(1)} ms`,
    `${r.cpuMsPerTurn.toFixed(2)} ms`,
    `${r.peakRssMb.toFixed(0)} MB`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)))
  const line = (row: string[]) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n')
}

// ---------------------------------------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------------------------------------

async function main() {
  if (!existsSync('/proc/self/stat')) throw new Error('the bench reads /proc/<pid>: it runs on Linux only')
  const dir = mkdtempSync(join(tmpdir(), 'edgechat-bench-'))
  if (!args['keep-temp']) cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  // The bundle lives under the project (.tmp/ is git-ignored) so that node_modules resolves and
  // src/entries/local.ts finds ../../migrations relative to it.
  const buildDir = join(ROOT, '.tmp', `bench-${process.pid}`)
  mkdirSync(buildDir, { recursive: true })
  cleanups.push(() => rmSync(buildDir, { recursive: true, force: true }))

  const s = scenario
  console.log(
    `EdgeChat bench: ${s.users} concurrent users × ${s.turnsPerUser} streamed turns × ${s.rounds} rounds, ${s.tokens} tokens per turn ` +
      `(emulator tokens=${s.tokens} delay=${s.delayMs} ttft=${s.ttftMs}), warm-up ${s.warmupTurnsPerUser} turns per user`,
  )
  console.log(`node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'}); server LOG_LEVEL=${args['log-level']}`)

  // --compare DIR: a second EdgeChat built from another copy of the project (say, the previous commit checked out
  // elsewhere), measured in the same run, in alternating rounds: the fair way to see what a change did on a
  // machine whose speed drifts. Its bundle sits next to ours, so its ../../migrations is ours.
  const compareRoot = args.compare ? resolve(args.compare) : undefined
  const t0 = performance.now()
  await build({
    entryPoints: {
      server: join(ROOT, 'src/entries/node.ts'),
      emulator: join(ROOT, 'src/entries/emulator.ts'),
      ...(compareRoot ? { compare: join(compareRoot, 'src/entries/node.ts') } : {}),
    },
    outdir: buildDir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'error',
  })

  const emulatorPort = await freePort()
  const emulator = startProcess('emulator', [join(buildDir, 'emulator.mjs')], {
    EMULATOR_PORT: String(emulatorPort),
    EMULATOR_ACCESS_KEY_ID: EMULATOR_CREDENTIALS.accessKeyId,
    EMULATOR_SECRET_ACCESS_KEY: EMULATOR_CREDENTIALS.secretAccessKey,
  }, dir)
  await waitForHttp(emulator, emulatorPort, '/')
  const emulatorUrl = `http://${HOST}:${emulatorPort}`

  const cpuProfDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined
  const targets: Target[] = [await startFloor(dir, emulatorUrl)]
  targets.push(await startEdgeChat('edgechat', join(buildDir, 'server.mjs'), dir, emulatorUrl, args['log-level']!, cpuProfDir))
  if (args['with-logging']) targets.push(await startEdgeChat('edgechat LOG_LEVEL=info', join(buildDir, 'server.mjs'), dir, emulatorUrl, 'info'))
  if (compareRoot) targets.push(await startEdgeChat(`edgechat from ${compareRoot}`, join(buildDir, 'compare.mjs'), dir, emulatorUrl, args['log-level']!))
  console.log(`started emulator, ${targets.length} targets in ${((performance.now() - t0) / 1000).toFixed(1)} s`)

  for (const target of targets) {
    if (s.warmupTurnsPerUser === 0) continue
    const warm = await runPhase(target, s, s.warmupTurnsPerUser, 'warmup')
    const failed = warm.turns.filter((turn) => !turn.ok)
    if (failed.length > 0) throw new Error(`${target.name}: ${failed.length} warm-up turns failed, first: ${failed[0]!.error}\n${logTail(target.proc)}`)
    console.log(`warm-up ${target.name}: ${warm.turns.length} turns in ${(warm.wallMs / 1000).toFixed(1)} s`)
  }

  // Rounds alternate between targets, in a rotating order, so that drift on the machine (other tenants, thermal)
  // hits every target alike.
  const phases = new Map<Target, PhaseResult[]>(targets.map((target) => [target, []]))
  for (let round = 1; round <= s.rounds; round++) {
    const shift = (round - 1) % targets.length
    for (const target of [...targets.slice(shift), ...targets.slice(0, shift)]) {
      const result = await runPhase(target, s, s.turnsPerUser, `round${round}`)
      phases.get(target)!.push(result)
      console.log(
        `round ${round} ${target.name}: ${result.turns.length} turns in ${(result.wallMs / 1000).toFixed(1)} s, ` +
          `server CPU ${(result.cpuMs / result.turns.length).toFixed(2)} ms/turn` +
          (args.detail
            ? ` (main thread ${(result.mainCpuMs / result.turns.length).toFixed(2)}), ${(result.writes / result.turns.length).toFixed(1)} write syscalls/turn`
            : ''),
      )
    }
  }

  if (args.detail) {
    for (const target of targets) {
      const threads = [...threadCpuMs(target.proc.pid)].sort((a, b) => b[1] - a[1])
      console.log(`threads of ${target.name} (lifetime CPU ms): ${threads.map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`)
    }
  }

  const rows = targets.map((target) => figures(target, phases.get(target)!))
  const floor = rows[0]!
  const ours = rows[1]!
  console.log('')
  console.log(table(rows))
  console.log('')
  for (const row of rows.slice(1)) {
    console.log(
      `ratio ${row.target} / floor: CPU per turn ${(row.cpuMsPerTurn / floor.cpuMsPerTurn).toFixed(2)}×, ` +
        `TTFT p99 ${(row.ttftP99Ms / floor.ttftP99Ms).toFixed(2)}×, TTFT p50 ${(row.ttftP50Ms / floor.ttftP50Ms).toFixed(2)}×, ` +
        `turns/s ${(row.turnsPerSecond / floor.turnsPerSecond).toFixed(2)}×`,
    )
  }
  if (s.ttftMs > 0) {
    for (const row of rows.slice(1)) {
      const over = (value: number) => value - s.ttftMs
      console.log(
        `TTFT over the emulator's own ${s.ttftMs} ms, ${row.target} / floor: p99 ${over(row.ttftP99Ms).toFixed(1)} ms vs ` +
          `${over(floor.ttftP99Ms).toFixed(1)} ms = ${(over(row.ttftP99Ms) / over(floor.ttftP99Ms)).toFixed(2)}×`,
      )
    }
  }
  const cpuRatio = ours.cpuMsPerTurn / floor.cpuMsPerTurn
  const pass = cpuRatio <= TARGET_CPU_RATIO && ours.errors === 0 && floor.errors === 0
  console.log(
    `target: server CPU per turn ≤ ${TARGET_CPU_RATIO}× floor (and no errors): ` +
      `${ours.cpuMsPerTurn.toFixed(2)} ms vs ${floor.cpuMsPerTurn.toFixed(2)} ms = ${cpuRatio.toFixed(2)}× → ${pass ? 'PASS' : 'FAIL'}`,
  )
  for (const row of rows) if (row.firstError) console.log(`first error (${row.target}): ${row.firstError}`)
  if (args.json) {
    writeFileSync(resolve(args.json), JSON.stringify({ scenario: s, node: process.version, rows, cpuRatio, pass }, null, 2))
  }

  for (const target of targets) {
    target.agent.destroy()
    await stopProcess(target.proc)
  }
  await stopProcess(emulator)
  if (cpuProfDir) {
    // The profile's frames point into the bundle: keep it (and its source map) beside the profile.
    for (const name of ['server.mjs', 'server.mjs.map']) copyFileSync(join(buildDir, name), join(cpuProfDir, name))
    console.log(`CPU profile of the EdgeChat server, with the bundle it ran, written to ${cpuProfDir}`)
  }
  if (args['keep-temp']) console.log(`temp files (databases, process logs): ${dir}`)
  return pass
}

main()
  .then((pass) => {
    clearTimeout(watchdog)
    cleanup()
    process.exit(pass ? 0 : 1)
  })
  .catch((error: unknown) => {
    console.error(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    cleanup()
    process.exit(2)
  })
