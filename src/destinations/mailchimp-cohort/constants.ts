/** Where the plugin talks to Mailchimp. Only the embedding program may change these, never an operator. */
export interface MailchimpEndpoints {
  /** OAuth metadata endpoint: answers with the account's data center (`dc`). */
  metadataUrl: string
  /** Marketing API base for a data center, without a trailing slash, e.g. `https://us6.api.mailchimp.com/3.0`. */
  apiBaseUrl: (dc: string) => string
}

export const MAILCHIMP_ENDPOINTS: MailchimpEndpoints = {
  metadataUrl: 'https://login.mailchimp.com/oauth2/metadata',
  apiBaseUrl: (dc) => `https://${dc}.api.mailchimp.com/3.0`
}

/** Tells Mailchimp who is calling, on every request. */
export const USER_AGENT = 'Segment (Actions) mailchimp-cohort-destination'

/** Where an operator finds the audience ID; shared by the setting's description and the errors about it. */
export const AUDIENCE_ID_HELP =
  'In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.'

/** Mailchimp refuses tag names of this many Unicode code points or more. */
export const TAG_NAME_LIMIT = 88

/** Mailchimp's cap on contacts in one batch subscribe call and in each list of one tag add/remove call. */
export const CONTACTS_PER_REQUEST = 500

/**
 * Requests one batch keeps in flight at once. Mailchimp allows 10 connections per user and a host runs several
 * batches side by side, so one batch takes a small share: two batches at once stay under the cap.
 */
export const MAX_CONCURRENT_REQUESTS = 4

/**
 * Requests of one Mailchimp account in flight from this process at once, whatever runs them (several batches, a
 * tool's parallel work): under Mailchimp's 10 per user, with room for the account's other integrations. Fewer after
 * Mailchimp throttles the account (mailchimp/limits.ts).
 */
export const MAX_IN_FLIGHT_PER_ACCOUNT = 8

/** The longest address SMTP allows (RFC 5321); anything longer is refused before it reaches Mailchimp. */
export const MAX_EMAIL_LENGTH = 254

/** Page size when listing tags; Mailchimp's maximum `count`. */
export const TAG_PAGE_SIZE = 1000

/**
 * Our own per-request timeout. Mailchimp gives up on a call after 120 s; a batch of 500 contacts normally answers
 * within seconds, so a minute leaves room for a slow day without holding a host worker for two.
 */
export const REQUEST_TIMEOUT_MS = 60_000

/** How long cached lookups live (seconds). A data center never changes for a token; tags can be deleted, which we detect. */
export const CACHE_TTL_SECONDS = {
  dataCenter: 24 * 60 * 60,
  tag: 6 * 60 * 60,
  audience: 15 * 60
} as const
