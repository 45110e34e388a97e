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
 * outcome the step that settled it returned (shared by every contact that fared alike); the events' outcomes are
 * built once, by `all()`, when the batch is done.
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
      if (!this.isSet(contact.event) && outcome.ok) {
        if (outcome.result === 'created_and_added') this.contacts.created++
        if (outcome.result === 'created_and_added' || outcome.result === 'added') this.contacts.tagged++
        if (outcome.result === 'removed') this.contacts.untagged++
      }
      if (contact.earlier) for (const index of contact.earlier) this.set(index, contact, outcome)
      this.set(contact.event, contact, outcome)
    }
  }

  private set(index: number, contact: ContactChange, outcome: ContactOutcome): void {
    if (this.isSet(index)) return
    this.contactOf[index] = contact
    this.outcomeOf[index] = outcome
  }

  failEvent(index: number, error: Failed['error']): void {
    if (!this.isSet(index)) this.refused.set(index, error)
  }

  private isSet(index: number): boolean {
    return this.outcomeOf[index] !== undefined || this.refused.has(index)
  }

  /** The batch in counts: events by outcome and status, contacts by change. Never an address or a name. */
  summary(all: Outcome[]): BatchSummary {
    const outcomes = new Map<string, BatchSummary['outcomes'][number]>()
    for (const outcome of all) {
      // A retryable error says its kind (TOO_MANY_REQUESTS…); the others their own code (EMAIL_REFUSED…).
      const { error } = outcome as Failed
      const key = outcome.ok
        ? outcome.result
        : error instanceof RetryableError
          ? errorTypeOf(error)
          : (error.code ?? errorTypeOf(error))
      const status = outcome.ok ? 200 : (outcome.error.status ?? 500)
      const entry = outcomes.get(`${key}:${status}`)
      if (entry) entry.events++
      else outcomes.set(`${key}:${status}`, { outcome: key, status, events: 1 })
    }
    const sorted = [...outcomes.values()].sort((a, b) => a.status - b.status || a.outcome.localeCompare(b.outcome))
    return { events: all.length, outcomes: sorted, contacts: { ...this.contacts } }
  }

  /** Every event's outcome. An event left without one would be a bug; it is reported as such, never dropped. */
  all(): Outcome[] {
    return this.outcomeOf.map((outcome, index): Outcome => {
      const contact = this.contactOf[index]
      if (outcome === undefined || contact === undefined) {
        return {
          ok: false,
          error:
            this.refused.get(index) ??
            new IntegrationError('The plugin did not settle this event; please report it.', 'UNSETTLED', 500)
        }
      }
      const sent = sentFor(contact, outcome.tagId)
      if (!outcome.ok) return { ok: false, error: outcome.error, sent }
      const succeeded: Succeeded = { ok: true, result: outcome.result, sent, superseded: index !== contact.event }
      if (outcome.mergeFields) succeeded.mergeFields = outcome.mergeFields
      return succeeded
    })
  }
}

keepLayout(new Outcomes(0))

/** Built whole, never grown by a property: every event of every batch comes through here (see layouts.ts). */
function sentFor(contact: ContactChange, tagId: string | undefined): Sent {
  return tagId === undefined
    ? { email: contact.email, in_cohort: contact.inCohort }
    : { email: contact.email, in_cohort: contact.inCohort, tag_id: tagId }
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

/** The success body: what Mailchimp confirmed for the contact. */
export function successBody(outcome: Succeeded): Record<string, string | boolean> {
  const { result, sent } = outcome
  // The common case built whole, never grown by a property: nearly every event comes through here (see layouts.ts).
  if (!outcome.superseded && !outcome.mergeFields && sent.tag_id !== undefined) return { result, tag_id: sent.tag_id }
  const body: Record<string, string | boolean> = { result }
  if (sent.tag_id !== undefined) body.tag_id = sent.tag_id
  if (outcome.superseded) body.superseded = true
  if (outcome.mergeFields) body.merge_fields = outcome.mergeFields
  return body
}

/** Outcomes in the shape actions-core hands to the host: one entry per event, in batch order. */
export function toMultiStatus(outcomes: Outcome[]): MultiStatusResponse {
  const response = new MultiStatusResponse()
  outcomes.forEach((outcome, index) => {
    if (outcome.ok) {
      response.setSuccessResponseAtIndex(index, { status: 200, sent: outcome.sent, body: successBody(outcome) })
    } else {
      const { error, sent } = outcome
      const errortype = errorTypeOf(error)
      response.setErrorResponseAtIndex(index, {
        status: error.status ?? 500,
        errortype,
        errormessage: error.message,
        ...(sent ? { sent, body: { code: error.code ?? errortype } } : {})
      })
    }
  })
  return response
}
