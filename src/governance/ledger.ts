/**
 * The usage ledger (usage_records): one row per model call, written with the generation's final state (one batch:
 * a crash loses both or neither, and a retried write is ignored by the (generation, step) key), and read back as
 * sums for budgets and GET /v1/usage.
 */
import { sql } from 'drizzle-orm'
import type { Database } from '../db/database'
import { runPreparedBatch } from '../db/prepared'
import { costPico, PICO_PER_USD, tokenPrices, type TokenCounts } from './pricing'
import type { ModelUsage } from '../models/model-client'
import type { ModelConfig } from '../models/registry'

/** One model call's usage, as the ledger stores it. */
export interface UsageEntry extends TokenCounts {
  id: string
  /** Null: the workspace of `conversationId` (read in the same statement). */
  workspaceId: string | null
  userId: string
  apiKeyId: string | null
  conversationId: string | null
  generationId: string | null
  step: number
  modelId: string
  costPicoUsd: number
  createdAt: Date
}

/** What a model call reports, and who it is recorded for. */
export type ModelCall = Omit<UsageEntry, keyof TokenCounts | 'costPicoUsd' | 'createdAt'> & { usage: ModelUsage; at: Date }

/** A model call as a ledger row: the cost is tokens × the catalog's price for `modelId`. */
export function usageEntry(config: ModelConfig, call: ModelCall): UsageEntry {
  const tokens: TokenCounts = {
    inputTokens: call.usage.inputTokens,
    outputTokens: call.usage.outputTokens,
    cacheReadTokens: call.usage.cacheReadTokens ?? 0,
    cacheWriteTokens: call.usage.cacheWriteTokens ?? 0,
  }
  const { usage: _usage, at, ...who } = call
  return { ...who, ...tokens, costPicoUsd: costPico(tokens, tokenPrices(config, call.modelId)), createdAt: at }
}

const COLUMNS = [
  'id',
  'userId',
  'apiKeyId',
  'conversationId',
  'generationId',
  'step',
  'modelId',
  'inputTokens',
  'outputTokens',
  'cacheReadTokens',
  'cacheWriteTokens',
  'costPicoUsd',
  'createdAt',
] as const

const INSERT = `insert or ignore into usage_records (id, user_id, api_key_id, conversation_id, generation_id, step, model_id, input_tokens,
 output_tokens, cache_read_tokens, cache_write_tokens, cost_pico_usd, created_at, workspace_id)
 values (${COLUMNS.map(() => '?').join(', ')}, coalesce(?, (select workspace_id from conversations where id = ?)))`

const insertStatement = {
  getQuery: () => ({ sql: INSERT, params: [...COLUMNS, 'workspaceId', 'conversationId'].map((name) => sql.placeholder(name)) }),
}

/** The batch items that write `entries`: for finalizeGeneration's batch, or alone (ledgerWrite). */
export const ledgerWrites = (entries: readonly UsageEntry[]) =>
  entries.map((entry) => ({ statement: insertStatement, values: { ...entry, createdAt: entry.createdAt.getTime() } }))

export async function writeLedger(db: Database, entries: readonly UsageEntry[]): Promise<void> {
  if (entries.length > 0) await runPreparedBatch(db, ledgerWrites(entries))
}

/** Whose usage a sum covers. */
export type Subject =
  | { kind: 'workspace'; workspaceId: string }
  | { kind: 'member'; workspaceId: string; userId: string }
  | { kind: 'apiKey'; apiKeyId: string }

export interface Spend {
  /** Micro-dollars, rounded up. */
  costMicro: number
  tokens: number
}

const MICRO = 1_000_000
/** Integer division and remainder in SQL need an integer literal (a bound JS number may arrive as a REAL). */
const MICRO_SQL = sql.raw(String(MICRO))

/** A subject's name in usage_daily (and the counters' subject of its limits). */
export const subjectKey = (subject: Subject): string =>
  subject.kind === 'workspace' ? `ws:${subject.workspaceId}` : subject.kind === 'member' ? `member:${subject.workspaceId}:${subject.userId}` : `key:${subject.apiKeyId}`

const DAY_MS = 86_400_000

/**
 * What each subject spent since its `from` (its period's start, a UTC midnight), from the daily sums the ledger's
 * trigger keeps, in one query: at most a month of rows per subject, however busy. Costs are summed as whole
 * micro-dollars plus the pico-dollar remainders, so no sum leaves the integers JavaScript holds exactly.
 */
export async function spentSince(db: Database, asked: readonly { subject: Subject; from: Date }[]): Promise<Spend[]> {
  if (asked.length === 0) return []
  const keys = asked.map(({ subject }) => subjectKey(subject))
  const days = asked.map(({ from }) => Math.floor(from.getTime() / DAY_MS))
  const rows = await db.all<{ subject: string; day: number; micro: number; rest: number; tokens: number }>(sql`
    select subject, day, cost_pico_usd / ${MICRO_SQL} as micro, cost_pico_usd % ${MICRO_SQL} as rest, tokens
    from usage_daily where subject in (${sql.join(keys, sql`, `)}) and day >= ${Math.min(...days)}`)
  return keys.map((key, i) => {
    let micro = 0
    let rest = 0
    let tokens = 0
    for (const row of rows) {
      if (row.subject !== key || Number(row.day) < days[i]!) continue
      micro += Number(row.micro)
      rest += Number(row.rest)
      tokens += Number(row.tokens)
    }
    return { costMicro: micro + Math.ceil(rest / MICRO), tokens }
  })
}

export type GroupBy = 'day' | 'model' | 'user' | 'apiKey'

export interface UsageQuery {
  workspaceId: string
  /** Only this user's rows (a member sees their own). */
  userId: string | null
  from: Date
  to: Date
}

export interface UsageRow {
  key: string | null
  requests: number
  inputTokens: number
  outputTokens: number
  cacheReadTokens: number
  cacheWriteTokens: number
  costUsd: number
}

const groupKey: Record<GroupBy, string> = {
  day: `strftime('%Y-%m-%d', created_at / 1000, 'unixepoch')`,
  model: 'model_id',
  user: 'user_id',
  apiKey: 'api_key_id',
}

const SUMS = ['requests', 'inputTokens', 'outputTokens', 'cacheReadTokens', 'cacheWriteTokens', 'micro', 'rest'] as const

/** Sums of a workspace's ledger over [from, to), per group (keys in order), and their totals. */
export async function usageReport(db: Database, query: UsageQuery & { groupBy: GroupBy }): Promise<{ data: UsageRow[]; totals: Omit<UsageRow, 'key'> }> {
  const rows = await db.all<Record<(typeof SUMS)[number] | 'key', number | string | null>>(sql`
    select ${sql.raw(groupKey[query.groupBy])} as key, count(*) as requests, sum(input_tokens) as inputTokens, sum(output_tokens) as outputTokens,
      sum(cache_read_tokens) as cacheReadTokens, sum(cache_write_tokens) as cacheWriteTokens,
      sum(cost_pico_usd / ${MICRO_SQL}) as micro, sum(cost_pico_usd % ${MICRO_SQL}) as rest
    from usage_records
    where workspace_id = ${query.workspaceId} ${query.userId ? sql`and user_id = ${query.userId}` : sql``}
      and created_at >= ${query.from.getTime()} and created_at < ${query.to.getTime()}
    group by 1 order by 1`)
  const totals: Record<string, number> = Object.fromEntries(SUMS.map((name) => [name, 0]))
  const present = ({ micro, rest, ...sums }: Record<string, number>) => ({ ...sums, costUsd: Number(((micro! * MICRO + rest!) / PICO_PER_USD).toFixed(12)) })
  const data = rows.map(({ key, ...row }) => {
    const sums = Object.fromEntries(SUMS.map((name) => [name, Number(row[name] ?? 0)]))
    for (const name of SUMS) totals[name]! += sums[name]!
    return { key: key === null ? null : String(key), ...present(sums) } as UsageRow
  })
  return { data, totals: present(totals) as Omit<UsageRow, 'key'> }
}
