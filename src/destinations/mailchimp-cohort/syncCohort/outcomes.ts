import {
  ErrorCodes,
  getErrorCodeFromHttpStatus,
  IntegrationError,
  MultiStatusResponse,
  RetryableError
} from '@segment/actions-core'
import type { BatchSummary } from '../telemetry'
import { keepLayout } from './layouts'
import type { ContactChange } from './plan'

/** What happened to a contact that synced. */
export type ContactResult =
  /** Created in the audience with the chosen status, then tagged. */
  | 'created_and_added'
  /** An existing contact now carries the tag. */
  | 'added'
  /** The contact exists and Mailchimp reported nothing to change: it already carried the tag. */
  | 'already_tagged'
  /** The contact no longer carries the tag. */
  | 'removed'
  /** Mailchimp had nothing to remove: the contact did not carry the tag, or is not in the audience. */
  | 'not_tagged'

/** What the plugin asked of Mailchimp for an event, as shown to the host. Never holds a credential. */
export interface Sent {
  [key: string]: string | boolean | undefined
  email: string
  in_cohort: boolean
  tag_id?: string
}

/** For a contact that carried Merge Fields: whether Mailchimp confirmed writing them. */
export type MergeFieldsState = 'written' | 'not_written'

interface Succeeded {
  ok: true
  result: ContactResult
  mergeFields?: MergeFieldsState
  sent: Sent
  /** A later event in the batch for the same contact and tag decided what was done. */
  superseded: boolean
}

export interface Failed {
  ok: false
  /** An actions-core error: its status says whether the host may retry (429, 5xx) or not. */
  error: Error & { status?: number; code?: string }
  sent?: Sent
}

export type Outcome = Succeeded | Failed

/** What became of one contact (one change in one tag): every event about it gets this outcome. */
export type ContactOutcome =
  | { ok: true; result: ContactResult; tagId?: string; mergeFields?: MergeFieldsState }
  | { ok: false; error: Failed['error']; tagId?: string }

/**
 * Contacts and what became of each of them: what each step of the sync returns. Contacts that fared alike share one
 * entry, so a chunk whose 500 contacts were all tagged is one entry, not 500.
 */
export interface Settled {
  contacts: ContactChange[]
  outcome: ContactOutcome
}

/**
 * One outcome per event of a batch, each set once. While the batch runs it keeps, per event, only its contact and the
 * outcome the step that settled it returned (shared by every contact that fared alike). When the batch is done it
 * answers the host in one pass (`toMultiStatus`), or one event at a time (`outcome`).
 */
export class Outcomes {
  /** Each settled event's contact. */
  private readonly contactOf: (ContactChange | undefined)[]
  /** What became of each settled event's contact. */
  private readonly outcomeOf: (ContactOutcome | undefined)[]
  /** Events the plan refused on their own, with the error that says what to fix. */
  private readonly refused = new Map<number, Failed['error']>()
  /** Contacts whose change Mailchimp confirmed, for the host's metrics. */
  private readonly contacts = { created: 0, tagged: 0, untagged: 0 }

  constructor(count: number) {
    this.contactOf = new Array<ContactChange | undefined>(count).fill(undefined)
    this.outcomeOf = new Array<ContactOutcome | undefined>(count).fill(undefined)
  }

  /** Gives the contacts' events the outcome, unless an earlier step settled them already. */
  record({ contacts, outcome }: Settled): void {
    for (const contact of contacts) {
      if (contact.earlier) for (const index of contact.earlier) this.set(index, contact, outcome)
      // The deciding event tells whether an earlier step settled the contact: its change is counted once.
      if (!this.set(contact.event, contact, outcome) || !outcome.ok) continue
      if (outcome.result === 'created_and_added') this.contacts.created++
      if (outcome.result === 'created_and_added' || outcome.result === 'added') this.contacts.tagged++
      if (outcome.result === 'removed') this.contacts.untagged++
    }
  }

  /** Sets the event's outcome unless it has one; whether it did. */
  private set(index: number, contact: ContactChange, outcome: ContactOutcome): boolean {
    if (this.isSet(index)) return false
    this.contactOf[index] = contact
    this.outcomeOf[index] = outcome
    return true
  }

  failEvent(index: number, error: Failed['error']): void {
    if (!this.isSet(index)) this.refused.set(index, error)
  }

  private isSet(index: number): boolean {
    return this.outcomeOf[index] !== undefined || this.refused.has(index)
  }

  /** The error of an event that has no contact outcome: the plan's refusal, or (a bug) none at all. */
  private errorOf(index: number): Failed['error'] {
    return (
      this.refused.get(index) ??
      new IntegrationError('The plugin did not settle this event; please report it.', 'UNSETTLED', 500)
    )
  }

  /** The first error, in batch order, that `matches`. */
  findError(matches: (error: Failed['error']) => boolean): Failed['error'] | undefined {
    for (let index = 0; index < this.outcomeOf.length; index++) {
      const outcome = this.outcomeOf[index]
      const error = outcome === undefined ? this.refused.get(index) : outcome.ok ? undefined : outcome.error
      if (error !== undefined && matches(error)) return error
    }
    return undefined
  }

  /** Gives every event whose error `matches` the error `instead` (keeping what was sent). */
  replaceErrors(matches: (error: Failed['error']) => boolean, instead: Failed['error']): void {
    const replaced = new Map<ContactOutcome, ContactOutcome>()
    this.outcomeOf.forEach((outcome, index) => {
      if (outcome === undefined || outcome.ok || !matches(outcome.error)) return
      let replacement = replaced.get(outcome)
      if (!replacement) replaced.set(outcome, (replacement = { ...outcome, error: instead }))
      this.outcomeOf[index] = replacement
    })
    for (const [index, error] of this.refused) if (matches(error)) this.refused.set(index, instead)
  }

  /** The batch in counts: events by outcome and status, contacts by change. Never an address or a name. */
  summary(): BatchSummary {
    const entries = new Map<string, BatchSummary['outcomes'][number]>()
    // Events share their contact's outcome (and a chunk's contacts one outcome), so each is read once, not per event.
    const counted = new Map<ContactOutcome | Failed['error'], BatchSummary['outcomes'][number]>()
    for (let index = 0; index < this.outcomeOf.length; index++) {
      const outcome = this.outcomeOf[index]
      const seen: ContactOutcome | Failed['error'] =
        outcome === undefined ? this.errorOf(index) : outcome.ok ? outcome : outcome.error
      let entry = counted.get(seen)
      if (!entry) {
        const { key, status } = summaryKey(seen)
        entry = entries.get(`${key}:${status}`)
        if (!entry) entries.set(`${key}:${status}`, (entry = { outcome: key, status, events: 0 }))
        counted.set(seen, entry)
      }
      entry.events++
    }
    const sorted = [...entries.values()].sort((a, b) => a.status - b.status || a.outcome.localeCompare(b.outcome))
    return { events: this.outcomeOf.length, outcomes: sorted, contacts: { ...this.contacts } }
  }

  /** One event's outcome. An event left without one would be a bug; it is reported as such, never dropped. */
  outcome(index: number): Outcome {
    const contact = this.contactOf[index]
    const outcome = this.outcomeOf[index]
    if (outcome === undefined || contact === undefined) return { ok: false, error: this.errorOf(index) }
    const sent = sentFor(contact.email, contact.inCohort, outcome.tagId)
    if (!outcome.ok) return { ok: false, error: outcome.error, sent }
    const succeeded: Succeeded = { ok: true, result: outcome.result, sent, superseded: index !== contact.event }
    if (outcome.mergeFields) succeeded.mergeFields = outcome.mergeFields
    return succeeded
  }

  /** The outcomes in the shape actions-core hands to the host: one entry per event, in batch order. */
  toMultiStatus(): MultiStatusResponse {
    const response = new MultiStatusResponse()
    for (let index = 0; index < this.outcomeOf.length; index++) {
      const contact = this.contactOf[index]
      const outcome = this.outcomeOf[index]
      if (outcome === undefined || contact === undefined) {
        response.setErrorResponseAtIndex(index, errorEntry(this.errorOf(index)))
        continue
      }
      const sent = sentFor(contact.email, contact.inCohort, outcome.tagId)
      if (!outcome.ok) {
        response.setErrorResponseAtIndex(index, errorEntry(outcome.error, sent))
        continue
      }
      const body = bodyOf(outcome.result, sent.tag_id, index !== contact.event, outcome.mergeFields)
      response.setSuccessResponseAtIndex(index, { status: 200, sent, body })
    }
    return response
  }
}

keepLayout(new Outcomes(0))
keepLayout(answerLayout())

/**
 * A host answer holding one success entry, built as `toMultiStatus` builds each one: kept for the hidden classes of
 * actions-core's MultiStatusResponse and its success entries, which `toMultiStatus` relies on once optimized.
 */
function answerLayout(): MultiStatusResponse {
  const response = new MultiStatusResponse()
  const sent = sentFor('', true, '')
  response.setSuccessResponseAtIndex(0, { status: 200, sent, body: bodyOf('added', sent.tag_id, false, undefined) })
  return response
}

/** How the host's metrics name an outcome: a retryable error by its kind (TOO_MANY_REQUESTS…), others by code. */
function summaryKey(seen: ContactOutcome | Failed['error']): { key: string; status: number } {
  if ('ok' in seen && seen.ok) return { key: seen.result, status: 200 }
  const error = seen as Failed['error']
  const key = error instanceof RetryableError ? errorTypeOf(error) : (error.code ?? errorTypeOf(error))
  return { key, status: error.status ?? 500 }
}

/** Built whole, never grown by a property: every event of every batch comes through here (see layouts.ts). */
function sentFor(email: string, inCohort: boolean, tagId: string | undefined): Sent {
  return tagId === undefined ? { email, in_cohort: inCohort } : { email, in_cohort: inCohort, tag_id: tagId }
}

/**
 * The host's error type for an error: its own code when actions-core knows it, else the one for its HTTP status. A
 * retryable error says which kind (TOO_MANY_REQUESTS, SERVICE_UNAVAILABLE…) rather than just RETRYABLE_ERROR.
 */
function errorTypeOf(error: Failed['error']): keyof typeof ErrorCodes {
  const code = error.code
  return code !== undefined && code in ErrorCodes && !(error instanceof RetryableError)
    ? (code as keyof typeof ErrorCodes)
    : getErrorCodeFromHttpStatus(error.status ?? 500)
}

function errorEntry(error: Failed['error'], sent?: Sent) {
  const errortype = errorTypeOf(error)
  return {
    status: error.status ?? 500,
    errortype,
    errormessage: error.message,
    ...(sent ? { sent, body: { code: error.code ?? errortype } } : {})
  }
}

/** The success body: what Mailchimp confirmed for the contact. */
export function successBody(outcome: Succeeded): Record<string, string | boolean> {
  return bodyOf(outcome.result, outcome.sent.tag_id, outcome.superseded, outcome.mergeFields)
}

function bodyOf(
  result: ContactResult,
  tagId: string | undefined,
  superseded: boolean,
  mergeFields: MergeFieldsState | undefined
): Record<string, string | boolean> {
  // The common case built whole, never grown by a property: nearly every event comes through here (see layouts.ts).
  if (!superseded && !mergeFields && tagId !== undefined) return { result, tag_id: tagId }
  const body: Record<string, string | boolean> = { result }
  if (tagId !== undefined) body.tag_id = tagId
  if (superseded) body.superseded = true
  if (mergeFields) body.merge_fields = mergeFields
  return body
}
