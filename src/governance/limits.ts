/** A workspace's limits (GET, PUT /v1/workspaces/{id}/limits): shapes, storage, and their calendar periods (UTC). */
import { z } from '@hono/zod-openapi'
import { eq } from 'drizzle-orm'
import type { Database } from '../db/database'
import { workspaceLimits } from '../db/schema'

const SIX_DECIMALS = (value: number) => Math.abs(value * 1e6 - Math.round(value * 1e6)) < 1e-6

const positive = z.number().int().positive()

export const LimitSchema = z
  .strictObject({
    period: z.enum(['day', 'month']),
    maxCostUsd: z.number().positive().max(1e9).refine(SIX_DECIMALS, 'at most six decimals').optional(),
    maxTokens: positive.max(Number.MAX_SAFE_INTEGER).optional(),
    maxRequestsPerMinute: positive.max(1e6).optional(),
    maxConcurrentGenerations: positive.max(1e5).optional(),
  })
  .openapi('Limit', {
    description:
      'Budgets per calendar period (UTC; they refill exactly at its end): cost (USD) and tokens (input, output and cache). ' +
      'Model calls started per minute (a fixed window), and generations running at once.',
  })

export const WorkspaceLimitsSchema = z
  .strictObject({ workspace: LimitSchema.nullish(), perMember: LimitSchema.nullish(), perApiKey: LimitSchema.nullish() })
  .openapi('WorkspaceLimits', { description: 'For the whole workspace, for each member, for each API key; a scope left out or null has none' })

export type Limit = z.infer<typeof LimitSchema>
export type WorkspaceLimits = z.infer<typeof WorkspaceLimitsSchema>

export async function readLimits(db: Database, workspaceId: string): Promise<WorkspaceLimits> {
  const row = await db.select({ limits: workspaceLimits.limits }).from(workspaceLimits).where(eq(workspaceLimits.workspaceId, workspaceId)).get()
  return (row?.limits as WorkspaceLimits | undefined) ?? {}
}

/** Replaces the workspace's limits (a scope left out or null has none). */
export async function writeLimits(db: Database, workspaceId: string, limits: WorkspaceLimits, now: Date): Promise<WorkspaceLimits> {
  const stored: WorkspaceLimits = Object.fromEntries(Object.entries(limits).filter(([, limit]) => limit)) as WorkspaceLimits
  await db
    .insert(workspaceLimits)
    .values({ workspaceId, limits: stored, updatedAt: now })
    .onConflictDoUpdate({ target: workspaceLimits.workspaceId, set: { limits: stored, updatedAt: now } })
  return stored
}

/** The calendar period (UTC) that contains `at`: [start, end). */
export function periodOf(period: Limit['period'], at: Date): { start: Date; end: Date } {
  const year = at.getUTCFullYear()
  const month = at.getUTCMonth()
  if (period === 'month') return { start: new Date(Date.UTC(year, month, 1)), end: new Date(Date.UTC(year, month + 1, 1)) }
  const day = at.getUTCDate()
  return { start: new Date(Date.UTC(year, month, day)), end: new Date(Date.UTC(year, month, day + 1)) }
}
