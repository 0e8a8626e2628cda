import type { Database } from '../db/database'
import { finalizeGeneration, type GenerationRow } from '../db/repositories/generations'
import { checkpointMessage, partsBytes } from '../db/repositories/messages'
import type { ModelUsage } from '../models/model-client'
import { ledgerWrites, writeLedger, type UsageEntry } from '../governance/ledger'
import type { Services } from '../types'
import type { Part } from './parts'

/** How a turn ended, as it is stored. */
export interface TurnOutcome {
  state: 'completed' | 'failed' | 'cancelled'
  messageStatus: 'complete' | 'incomplete' | 'failed' | 'cancelled'
  errorCode: string | null
  parts: Part[]
  usage: ModelUsage | null
  stopReason: string | null
  latencyMs: number
  /** The usage ledger's rows, one per model call (governance/ledger.ts `usageEntry`): stored with the outcome. */
  ledger: readonly UsageEntry[]
}

/**
 * What a turn stores, the persistence port of the turn engine: a conversation's assistant message and generation
 * (conversationStore), or nothing (stateless calls such as Chat Completions, whose caller keeps the history).
 * `finish` resolves once the outcome is stored: only then is it announced.
 */
export interface TurnPersistence {
  /** Saves the partial answer; absent when nothing is stored (the turn then never builds the parts to pass). */
  checkpoint?: ((parts: Part[]) => void) | undefined
  finish(outcome: TurnOutcome): Promise<void>
}

/** The turn's assistant placeholder and generation row: checkpoints, then one final write that frees the conversation. */
export function conversationStore({ db, now, search }: Pick<Services, 'db' | 'now' | 'search'>, generation: GenerationRow): TurnPersistence {
  let checkpoint: Promise<void> = Promise.resolve()
  return {
    checkpoint(parts) {
      checkpoint = checkpoint.then(() => checkpointMessage(db, generation.assistantMessageId, parts, now()))
    },
    async finish(outcome) {
      await checkpoint
      await finalizeGeneration(db, {
        generationId: generation.id,
        conversationId: generation.conversationId,
        assistantMessageId: generation.assistantMessageId,
        parts: outcome.parts,
        addedBytes: partsBytes(outcome.parts) - partsBytes([]),
        usage: outcome.usage ? { inputTokens: outcome.usage.inputTokens, outputTokens: outcome.usage.outputTokens } : null,
        stopReason: outcome.stopReason,
        latencyMs: outcome.latencyMs,
        now: now(),
        state: outcome.state,
        messageStatus: outcome.messageStatus,
        errorCode: outcome.errorCode,
      }, ledgerWrites(outcome.ledger))
      search.turnStored()
    },
  }
}

/** Stores only the turn's ledger rows (a stateless call): its usage is recorded like any other turn's. */
export const ledgerOnly = (db: Database): TurnPersistence => ({ finish: (outcome) => writeLedger(db, outcome.ledger) })
