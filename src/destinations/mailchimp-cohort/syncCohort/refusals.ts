import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import type { JoinVerdict, Refusal } from '../mailchimp/answers'

// The errors a contact's outcome carries when it did not sync, in words that tell the operator what to do.

/** An actions-core error: its status says whether the host may retry (429, 5xx) or not. */
export type SyncError = Error & { status?: number; code?: string }

export function asSyncError(error: unknown): SyncError {
  if (error instanceof Error && typeof (error as SyncError).status === 'number') return error as SyncError
  return new IntegrationError(
    `Unexpected error while syncing: ${error instanceof Error ? error.message : String(error)}`,
    'UNEXPECTED_ERROR',
    500
  )
}

/** Errors that no other request of the batch can escape: a revoked token, an unknown audience. */
export function isFatal(error: SyncError): boolean {
  return (
    error instanceof InvalidAuthenticationError ||
    (error instanceof IntegrationError && error.code === 'AUDIENCE_NOT_FOUND')
  )
}

export function isMissingTag(error: unknown): boolean {
  return error instanceof IntegrationError && error.code === 'TAG_NOT_FOUND'
}

/** A merge-field write Mailchimp refused for this contact (a 4xx other than a throttle), not for every contact. */
export function isContactRefusal(error: SyncError): boolean {
  return (
    error instanceof IntegrationError &&
    !isFatal(error) &&
    error.status !== undefined &&
    error.status >= 400 &&
    error.status < 500 &&
    error.status !== 429
  )
}

export function creationRefused(creation: Refusal): IntegrationError {
  switch (creation.kind) {
    case 'forgotten':
      return new IntegrationError(
        `Mailchimp will not add this contact: the address was permanently deleted from the audience and cannot be re-imported; the person must sign up again through a Mailchimp form. Mailchimp said: ${creation.reason}`,
        'FORGOTTEN_EMAIL',
        400
      )
    case 'compliance':
      return new IntegrationError(
        `Mailchimp will not add this contact: the address is in a compliance state (unsubscribed, bounced or under compliance review) and is not in the audience. Mailchimp said: ${creation.reason}`,
        'MEMBER_IN_COMPLIANCE_STATE',
        400
      )
    default:
      return new IntegrationError(`Mailchimp refused this contact: ${creation.reason}`, 'EMAIL_REFUSED', 400)
  }
}

/** The error for a joiner the tag call did not confirm. */
export function notJoined(verdict: Extract<JoinVerdict, { ok: false }>): SyncError {
  switch (verdict.why) {
    case 'created_not_tagged':
      return new RetryableError(
        'Mailchimp created this contact but did not confirm the tag; sending the event again will tag it.',
        503
      )
    case 'compliance':
      return creationRefused({ kind: 'compliance', reason: verdict.reason ?? 'no reason given' })
    case 'not_in_audience':
      return new IntegrationError(
        "Not tagged: Mailchimp neither added the tag nor refused it. Mailchimp ignores addresses that are not in the audience, and with Status for New Contacts set to Skip the plugin creates nobody; Mailchimp's answer does not tell this apart from a contact that already had the tag. Add the contact in Mailchimp, or choose another Status for New Contacts." +
          (verdict.reason !== undefined ? ` Mailchimp said: ${verdict.reason}` : ''),
        'CONTACT_NOT_IN_AUDIENCE',
        400
      )
    default:
      return tagRefused(verdict.reason)
  }
}

export function tagRefused(reason: string | undefined): IntegrationError {
  return new IntegrationError(
    reason !== undefined
      ? `Mailchimp did not change this contact's tag: ${reason}`
      : 'Mailchimp neither created nor tagged this contact and gave no reason; it was not synced.',
    'TAG_NOT_CHANGED',
    400
  )
}

export function noTagToAdd(): IntegrationError {
  return new IntegrationError('No Mailchimp tag to add this contact to was found or created.', 'TAG_NOT_FOUND', 404)
}

export function unknownMergeFields(unknown: string[], known: string[], audienceId: string): IntegrationError {
  return new IntegrationError(
    `Unknown merge field${unknown.length > 1 ? 's' : ''} ${unknown.map((tag) => JSON.stringify(tag)).join(', ')}: audience "${audienceId}" has ${known.length > 0 ? known.join(', ') : 'no merge fields'}. Fix the Merge Fields mapping, or add the field to the audience in Mailchimp.`,
    'UNKNOWN_MERGE_FIELD',
    400
  )
}

export function mergeFieldsRefused(reason: string): IntegrationError {
  return new IntegrationError(
    `Mailchimp did not update this contact's merge fields, so it was not tagged either: ${reason}`,
    'MERGE_FIELDS_REFUSED',
    400
  )
}
