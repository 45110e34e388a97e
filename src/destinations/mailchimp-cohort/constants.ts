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

/** Mailchimp's limit on one user's requests in flight at once; the 11th gets a 429. */
export const MAILCHIMP_CONNECTIONS = 10

/**
 * Where an account's share of this process starts: two under Mailchimp's limit, room for the account's other apps. It
 * grows to the ceiling while Mailchimp answers without throttling, and shrinks when it throttles (mailchimp/limits.ts).
 */
export const INITIAL_SHARE = 8

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
