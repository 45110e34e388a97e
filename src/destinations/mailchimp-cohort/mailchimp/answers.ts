import { foldEmail } from '../email'
import { unreadableAnswer } from './errors'
import { Member } from './schemas'
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

/** What an answer said of each address, by key: undefined for an address it did not mention. */
export interface Said<T> {
  get(key: string): T | undefined
}

/** The same for every address: an answer that accounted for each one alike. */
const everyone = <T>(value: T): Said<T> => ({ get: () => value })

/** A batch subscribe that created every row it was sent and refused none. */
export const EVERY_ROW_CREATED: Said<Creation> = everyone(CREATED)

/** A member's address as a key; a member without one makes the whole answer unreadable, as zod would have. */
function keyOf(member: unknown, what: string): string {
  const parsed = Member.safeParse(member)
  if (!parsed.success) throw unreadableAnswer(what)
  return foldEmail(parsed.data.email_address)
}

/**
 * What batch subscribe said, by address key; addresses it did not mention are UNCONFIRMED. Given how many rows were
 * sent, an answer that created every one of them and refused none is read without looking at a single address.
 */
export function creationsFrom(answer: BatchSubscribeAnswer, sent?: number): Said<Creation> {
  const { new_members, updated_members, errors } = answer
  if (new_members.length === sent && errors.length === 0 && updated_members.length === 0) return EVERY_ROW_CREATED
  const creations = new Map<string, Creation>()
  for (const member of new_members) creations.set(keyOf(member, 'the batch subscribe'), CREATED)
  for (const member of updated_members) creations.set(keyOf(member, 'the batch subscribe'), EXISTS)
  for (const row of errors) creations.set(foldEmail(row.email_address), rowCreation(row))
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
  added: Said<true>
  removed: Said<true>
  /** Mailchimp's reason for each address it reported in `errors`. */
  reasons: Said<string>
}

const NOBODY: Said<never> = { get: () => undefined }
/** Every joiner added, every leaver removed, nothing refused. */
const ALL_DONE: TagAnswer = { added: everyone(true), removed: everyone(true), reasons: NOBODY }

/**
 * What the tag call said, by address key. Given how many addresses were sent to add and to remove, an answer that
 * added and removed every one of them and refused none is read without looking at a single address.
 */
export function tagAnswerFrom(answer: TagMembersAnswer, sent?: { add: number; remove: number }): TagAnswer {
  const { members_added, members_removed, errors } = answer
  if (sent && errors.length === 0 && members_added.length === sent.add && members_removed.length === sent.remove) {
    return ALL_DONE
  }
  const added = new Map<string, true>()
  const removed = new Map<string, true>()
  const reasons = new Map<string, string>()
  for (const member of members_added) added.set(keyOf(member, 'the tag call'), true)
  for (const member of members_removed) removed.set(keyOf(member, 'the tag call'), true)
  for (const { email_addresses, error } of errors) {
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
  if (tag.added.get(key)) return creation?.kind === 'created' ? JOINED.created : JOINED.added
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
  if (tag.removed.get(key)) return LEFT.removed
  const reason = tag.reasons.get(key)
  // Mailchimp ignores addresses that do not carry the tag or are not in the audience: either way it is off.
  if (reason === undefined || NOT_CARRYING.test(reason)) return LEFT.notTagged
  return { ok: false, reason }
}
