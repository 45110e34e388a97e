import type { Connection } from '../connection'
import type { ContactOutcome, Settled } from './outcomes'
import type { ContactChange } from './plan'
import type { SyncError } from './refusals'

/** What every step of a chunk's sync works with: the audience, and whether an error means nothing may be sent. */
export interface StepContext {
  connection: Connection
  audienceId: string
  /** A revoked token or an unknown audience, once seen: no request is sent, and the contacts fail with it. */
  halted: () => SyncError | undefined
}

/** Every contact given the same failure (and the tag id, when it was known). */
export const failed = (contacts: ContactChange[], error: SyncError, tagId?: string): Settled[] =>
  contacts.length === 0
    ? []
    : [{ contacts, outcome: tagId === undefined ? { ok: false, error } : { ok: false, error, tagId } }]

/** One contact and what became of it. */
export const settledOne = (contact: ContactChange, outcome: ContactOutcome): Settled => ({
  contacts: [contact],
  outcome
})
