import { foldEmail } from '../email'
import type { BatchSubscribeAnswer, TagMembersAnswer } from './schemas'

// What Mailchimp's answers to the two batch calls mean for each address: pure reading, no I/O, no outcomes. The
// wording rules are Mailchimp's own phrases (MAILCHIMP.md §5, §6), matched loosely where its wording varies.

/** What the batch subscribe call said about one address. */
export type Creation =
  /** unconfirmed: the answer did not mention the address at all. */
  | { kind: 'created' | 'exists' | 'unconfirmed' }
  /** Unsubscribed, bounced or under review: Mailchimp will not (re)subscribe it, but it may be a contact. */
  | { kind: 'compliance'; reason: string }
  /** Permanently deleted: Mailchimp will never let the API add it again. */
  | { kind: 'forgotten'; reason: string }
  | { kind: 'refused'; reason: string }

export type Refusal = Extract<Creation, { reason: string }>

/** Mailchimp's words for a row whose address is already a contact (with `error_code` ERROR_CONTACT_EXISTS). */
const ALREADY_A_CONTACT = /already a list member/i
const COMPLIANCE = /compliance state/i
const FORGOTTEN = /permanently deleted/i
/** A per-address reason of the tag call meaning the tag was already on the contact. */
const ALREADY_TAGGED = /\balready (a member of|in|on|part of|tagged|has)\b/i
/** A per-address reason of the tag call meaning the contact does not carry the tag, so a removal is done. */
const NOT_CARRYING =
  /\bnot (a member of|in|on|part of|tagged with|subscribed to) (the|this) (segment|tag|list|audience)\b|\bdoes ?n['o]t (exist|belong to)\b/i

const CREATED: Creation = { kind: 'created' }
const EXISTS: Creation = { kind: 'exists' }
export const UNCONFIRMED: Creation = { kind: 'unconfirmed' }

/** What batch subscribe said, by address key. Addresses it did not mention are absent: they are UNCONFIRMED. */
export function creationsFrom(answer: BatchSubscribeAnswer): Map<string, Creation> {
  const creations = new Map<string, Creation>()
  for (const member of answer.new_members) creations.set(foldEmail(member.email_address), CREATED)
  for (const member of answer.updated_members) creations.set(foldEmail(member.email_address), EXISTS)
  for (const row of answer.errors) creations.set(foldEmail(row.email_address), rowCreation(row))
  return creations
}

function rowCreation(row: BatchSubscribeAnswer['errors'][number]): Creation {
  const reason = rowReason(row)
  if (row.error_code === 'ERROR_CONTACT_EXISTS' || ALREADY_A_CONTACT.test(reason)) return EXISTS
  if (COMPLIANCE.test(reason)) return { kind: 'compliance', reason }
  if (FORGOTTEN.test(reason)) return { kind: 'forgotten', reason }
  return { kind: 'refused', reason }
}

/** Mailchimp's reason for a batch subscribe row, with the merge field it names when it names one. */
function rowReason(row: BatchSubscribeAnswer['errors'][number]): string {
  const reason = row.error?.trim() || 'no reason given'
  return row.field ? `${reason} (${row.field}: ${row.field_message ?? 'invalid'})` : reason
}

/** What the tag call said, by address key. */
export interface TagAnswer {
  added: Set<string>
  removed: Set<string>
  /** Mailchimp's reason for each address it reported in `errors`. */
  reasons: Map<string, string>
}

export function tagAnswerFrom(answer: TagMembersAnswer): TagAnswer {
  const added = new Set<string>()
  const removed = new Set<string>()
  const reasons = new Map<string, string>()
  for (const member of answer.members_added) added.add(foldEmail(member.email_address))
  for (const member of answer.members_removed) removed.add(foldEmail(member.email_address))
  for (const { email_addresses, error } of answer.errors) {
    for (const email of email_addresses) reasons.set(foldEmail(email), error?.trim() || 'no reason given')
  }
  return { added, removed, reasons }
}

/** What happened to a contact that was to carry the tag. */
export type JoinVerdict =
  | { ok: true; result: 'created_and_added' | 'added' | 'already_tagged' }
  | {
      ok: false
      /**
       * created_not_tagged: created just now, yet neither tagged nor refused (Mailchimp may not see it yet);
       * compliance: a compliance-state address that did not get the tag; not_in_audience: no creation was tried (Skip)
       * and Mailchimp neither tagged nor refused it; tag_refused: Mailchimp refused the tag, or said nothing at all.
       */
      why: 'created_not_tagged' | 'compliance' | 'not_in_audience' | 'tag_refused'
      reason?: string
    }

const JOINED = {
  created: { ok: true, result: 'created_and_added' },
  added: { ok: true, result: 'added' },
  already: { ok: true, result: 'already_tagged' }
} as const

/**
 * A joiner's verdict from both answers: `creation` is what batch subscribe said (undefined when none was tried, as
 * with Skip), `tag` what the tag call said.
 */
export function joinVerdict(key: string, creation: Creation | undefined, tag: TagAnswer): JoinVerdict {
  if (tag.added.has(key)) return creation?.kind === 'created' ? JOINED.created : JOINED.added
  const reason = tag.reasons.get(key)
  if (reason !== undefined && ALREADY_TAGGED.test(reason)) return JOINED.already
  // Mailchimp confirmed the contact exists and refused nothing: the tag was already on it.
  if (reason === undefined && creation?.kind === 'exists') return JOINED.already
  if (reason === undefined && creation?.kind === 'created') return { ok: false, why: 'created_not_tagged' }
  if (creation?.kind === 'compliance') return { ok: false, why: 'compliance', reason: creation.reason }
  if (creation === undefined) return { ok: false, why: 'not_in_audience', reason }
  return { ok: false, why: 'tag_refused', reason }
}

/** What happened to a contact that was to lose the tag. */
export type LeaveVerdict = { ok: true; result: 'removed' | 'not_tagged' } | { ok: false; reason: string }

const LEFT = { removed: { ok: true, result: 'removed' }, notTagged: { ok: true, result: 'not_tagged' } } as const

export function leaveVerdict(key: string, tag: TagAnswer): LeaveVerdict {
  if (tag.removed.has(key)) return LEFT.removed
  const reason = tag.reasons.get(key)
  // Mailchimp ignores addresses that do not carry the tag or are not in the audience: either way it is off.
  if (reason === undefined || NOT_CARRYING.test(reason)) return LEFT.notTagged
  return { ok: false, reason }
}
