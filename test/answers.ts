import { createHash } from 'crypto'
import { AUDIENCE_ID } from './helpers'

/**
 * Answers shaped like the ones Mailchimp documents (OpenAPI spec and the official TypeScript SDK's types), written
 * from that documentation, not from the plugin's schemas.
 */

export type MemberStatus = 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional'

/** A member object, as the batch endpoints return them in `new_members`, `members_added` and friends. */
export function member(email: string, status: MemberStatus = 'subscribed') {
  const id = createHash('md5').update(email.trim().toLowerCase()).digest('hex')
  return {
    id,
    email_address: email,
    unique_email_id: id.slice(0, 10),
    contact_id: id.slice(0, 12),
    full_name: '',
    web_id: 1234,
    email_type: 'html',
    status,
    merge_fields: { FNAME: '', LNAME: '' },
    stats: { avg_open_rate: 0, avg_click_rate: 0 },
    ip_signup: '',
    timestamp_signup: '',
    ip_opt: '',
    timestamp_opt: '2026-11-26T10:00:00+00:00',
    member_rating: 2,
    last_changed: '2026-11-26T10:00:00+00:00',
    language: '',
    vip: false,
    email_client: '',
    location: { latitude: 0, longitude: 0, gmtoff: 0, dstoff: 0, country_code: '', timezone: '' },
    source: 'API - Generic',
    tags_count: 0,
    tags: [],
    list_id: AUDIENCE_ID,
    _links: []
  }
}

interface RowError {
  email: string
  error: string
  code?: 'ERROR_CONTACT_EXISTS' | 'ERROR_GENERIC'
}

/** Mailchimp's wording for a batch subscribe row whose address is already in the audience. */
export function contactExists(email: string): RowError {
  return {
    email,
    error: `${email} is already a list member, do you want to update? please provide update_existing:true in the request body`,
    code: 'ERROR_CONTACT_EXISTS'
  }
}

export const looksFake = (email: string): RowError => ({
  email,
  error: `${email} looks fake or invalid, please enter a real email address.`,
  code: 'ERROR_GENERIC'
})

export const forgotten = (email: string): RowError => ({
  email,
  error: `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`,
  code: 'ERROR_GENERIC'
})

export const inComplianceState = (email: string): RowError => ({
  email,
  error: `${email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.`,
  code: 'ERROR_GENERIC'
})

/** Answer of `POST /lists/{list_id}` (batch subscribe), HTTP 200 even when rows fail. */
export function subscribeAnswer({
  created = [],
  updated = [],
  errors = []
}: {
  created?: { email: string; status: MemberStatus }[]
  updated?: { email: string; status: MemberStatus }[]
  errors?: (RowError & { field?: string; fieldMessage?: string })[]
}) {
  return {
    new_members: created.map(({ email, status }) => member(email, status)),
    updated_members: updated.map(({ email, status }) => member(email, status)),
    errors: errors.map(({ email, error, code = 'ERROR_GENERIC', field = '', fieldMessage = '' }) => ({
      email_address: email,
      error,
      error_code: code,
      field,
      field_message: fieldMessage
    })),
    total_created: created.length,
    total_updated: updated.length,
    error_count: errors.length,
    _links: []
  }
}

/** Answer of `POST /lists/{list_id}/segments/{segment_id}` (batch add/remove on a tag). */
export function tagAnswer({
  added = [],
  removed = [],
  errors = []
}: {
  added?: { email: string; status?: MemberStatus }[] | string[]
  removed?: string[]
  errors?: { emails: string[]; error: string }[]
}) {
  const members = (list: { email: string; status?: MemberStatus }[] | string[]) =>
    list.map((entry) => (typeof entry === 'string' ? member(entry) : member(entry.email, entry.status)))
  return {
    members_added: members(added),
    members_removed: members(removed),
    errors: errors.map(({ emails, error }) => ({ email_addresses: emails, error })),
    total_added: added.length,
    total_removed: removed.length,
    error_count: errors.length,
    _links: []
  }
}
