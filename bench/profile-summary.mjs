/**
 * Summarises a `npm run bench -- --cpu-prof DIR` profile: where the EdgeChat server's main thread was busy, by the
 * nearest application source file (through the bundle's source map), with everything under libsql or drizzle-orm
 * counted as DB whatever called it. The profile samples wall time on the main thread, so time blocked in a
 * synchronous call (libsql's fsync on commit) shows as busy too: put the database on a tmpfs (`--db-dir /dev/shm`)
 * to see CPU only.
 *
 *   node bench/profile-summary.mjs DIR [rows]
 */
import { readdirSync, readFileSync } from 'node:fs'
import { SourceMap } from 'node:module'
import { join } from 'node:path'

const [dir, rowsArg] = process.argv.slice(2)
if (!dir) {
  console.error('usage: node bench/profile-summary.mjs DIR [rows]')
  process.exit(2)
}
const profileFile = readdirSync(dir).find((name) => name.endsWith('.cpuprofile'))
if (!profileFile) throw new Error(`no .cpuprofile in ${dir}`)
const profile = JSON.parse(readFileSync(join(dir, profileFile), 'utf8'))
const map = new SourceMap(JSON.parse(readFileSync(join(dir, 'server.mjs.map'), 'utf8')))

const nodes = new Map(profile.nodes.map((node) => [node.id, node]))
const parents = new Map()
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id)
const selfTime = new Map()
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)))

const packageOf = (url) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? (url.startsWith('node:') ? url.split('/').slice(0, 3).join('/') : url)
const sourceCache = new Map()
function appSource(node) {
  if (!node.callFrame.url.endsWith('/server.mjs')) return null
  if (!sourceCache.has(node.id)) {
    const entry = map.findEntry(node.callFrame.lineNumber, node.callFrame.columnNumber)
    const file = entry?.originalSource?.replace(/^.*?\/src\//, 'src/')
    sourceCache.set(node.id, file ? `${file} ${node.callFrame.functionName || '(anonymous)'}` : null)
  }
  return sourceCache.get(node.id)
}

let busy = 0
const buckets = new Map()
const groups = new Map()
for (const [id, time] of selfTime) {
  const leaf = nodes.get(id)
  if (leaf.callFrame.functionName === '(idle)') continue
  busy += time
  let db = false
  let app = null
  for (let cursor = id; cursor !== undefined; cursor = parents.get(cursor)) {
    const node = nodes.get(cursor)
    if (/node_modules\/(libsql|drizzle-orm|@libsql)/.test(node.callFrame.url)) db = true
    app ??= appSource(node)
  }
  const leafName = leaf.callFrame.url ? (leaf.callFrame.url.endsWith('/server.mjs') ? 'app' : packageOf(leaf.callFrame.url)) : leaf.callFrame.functionName
  const group = db ? 'database (drizzle + @libsql/client + libsql)' : app ? 'application code and what it calls' : 'no application frame (runtime, http, GC, …)'
  const key = db ? `DB via ${app ?? '(async continuation)'}` : app ? `${app}  [in ${leafName}]` : `(no app frame) ${leafName}`
  buckets.set(key, (buckets.get(key) ?? 0) + time)
  groups.set(group, (groups.get(group) ?? 0) + time)
}
const pct = (time) => `${((time / busy) * 100).toFixed(1).padStart(5)}%`
console.log(`main thread busy ${(busy / 1e6).toFixed(1)} s (${profileFile})`)
for (const [group, time] of [...groups].sort((a, b) => b[1] - a[1])) console.log(`${pct(time)}  ${group}`)
console.log('')
for (const [key, time] of [...buckets].sort((a, b) => b[1] - a[1]).slice(0, Number(rowsArg ?? 40))) console.log(`${pct(time)}  ${key}`)
