import type { MemberStatus } from './state'

export type { MemberStatus }

export interface SandboxOptions {
  /** Default 0: pick a free port. The sandbox always binds 127.0.0.1. */
  port?: number
  /**
   * How long every request takes, from its arrival to its answer, holding the connection slot even if the client has
   * gone; default 0. The sandbox's own work on a request happens within this time (it is applied on arrival).
   */
  latencyMs?: number
  /** Mailchimp's per-user cap on requests in flight; default 10. The (cap+1)th concurrent request gets 429 at once. */
  maxConnections?: number
  /** Credentials accepted; default ['sandbox-token']. */
  tokens?: string[]
  /** What the metadata endpoint answers as `dc`; default 'us1'. */
  dataCenter?: string
  /** Addresses at these domains "look fake"; default example.com, example.net, example.org, test.com. */
  fakeDomains?: string[]
  /** 'mailchimp': member objects answered whole, about 2.7 KB each, as Mailchimp does; default 'lean'. */
  answers?: AnswerSize
}

export type AnswerSize = 'lean' | 'mailchimp'

/**
 * 429 = problem+json "Too Many Requests"; 401 = "API Key Invalid"; 403 = an empty body (Mailchimp's bodyless throttle);
 * 500/503 = problem+json; 502 = an HTML body (CDN timeout style); 'reset' = destroy the socket without answering;
 * 'stall' = never answer; 'malformed' = 200 with a truncated JSON body. A faulted request changes no state unless
 * `applied`.
 *
 * Faults are answered at once and bypass the credential check and the connection cap, except 'stall' and `applied`
 * faults: those take their request in as an ordinary one, so one refused with 401 or 429 leaves the fault for the next
 * match (a 'stall' without a known credential still stalls, holding no slot). Mailchimp says requests that timed out on
 * the client's side may still run and hold a slot (docs/mailchimp-facts.md, "Errors and limits"): a stall holds a slot
 * of its credential, counted in peakInFlight, whether or not the client gives up, until `holdMs` elapses (then the
 * connection is dropped) or close().
 */
export interface FaultSpec {
  kind: 429 | 401 | 403 | 500 | 502 | 503 | 'reset' | 'stall' | 'malformed'
  /** The next N matching requests; default 1. */
  times?: number
  /** e.g. 'POST'; default any. */
  method?: string
  /** Matched against the URL pathname: a string matches exactly, a RegExp by test; default any. */
  path?: string | RegExp
  /** Seconds, for 429: adds a Retry-After header. */
  retryAfter?: number
  /**
   * Default false. When true, the request is processed as usual (credential check, cap, latency) and its state change
   * applied; only then is the answer lost: 'reset' destroys the socket instead of answering, 'stall' sends nothing
   * (holding the slot as above), and 429/500/502/503 (likewise 401/403/'malformed') are answered in its place. Models
   * "Mailchimp did it but the client never heard".
   */
  applied?: boolean
  /** For 'stall': milliseconds after which the slot is freed and the connection dropped; default: held until close(). */
  holdMs?: number
}

export interface AudienceSeed {
  /** Default: 10 random lowercase hex characters. */
  id?: string
  name?: string
  double_optin?: boolean
  /**
   * The audience's merge fields, in display order; type defaults to 'text', required to false. Default: Mailchimp's for a
   * new audience: FNAME "First Name" text, LNAME "Last Name" text, ADDRESS "Address" address, PHONE "Phone Number"
   * phone, BIRTHDAY "Birthday" birthday, none required.
   */
  merge_fields?: Array<{ tag: string; name: string; type?: string; required?: boolean }>
}

export interface ContactSeed {
  email_address: string
  status: MemberStatus
  tags?: string[]
  /** Stored as given (unchecked), under the audience's own spelling of a known merge tag. */
  merge_fields?: Record<string, unknown>
}

export interface SandboxCounters {
  /** Every HTTP request received, admin routes under /_sandbox excluded. */
  total: number
  /** "METHOD /route/template", e.g. "POST /3.0/lists/{list_id}/segments/{segment_id}"; unknown paths as sent. */
  byRoute: Record<string, number>
  /** Answered status code → count; 'reset' and 'stall' are counted under their kind. */
  byStatus: Record<string, number>
  /** 429s caused by the connection cap, not by injected faults. */
  throttled: number
  peakInFlight: number
}

export interface ContactView {
  email_address: string
  status: MemberStatus
  tags: string[]
  /** By the audience's merge tags: values given at creation, merged with those of later updates. A copy. */
  merge_fields: Record<string, unknown>
}

/** What a client needs to use a running sandbox (GET /_sandbox/info). */
export interface SandboxInfo {
  url: string
  metadataUrl: string
  /** The API base, whatever the data center. */
  apiBaseUrl: string
  /** A credential the sandbox accepts; null when every one was revoked. */
  token: string | null
  /** Audience ids in the order they were added: the first is the sandbox's default. */
  audience_ids: string[]
  /** Addresses at these domains "look fake". */
  fake_domains: string[]
}

export interface MailchimpSandbox {
  /** http://127.0.0.1:<port> */
  readonly url: string
  /** metadataUrl = `${url}/oauth2/metadata`; apiBaseUrl(dc) = `${url}/3.0` whatever the dc. */
  readonly endpoints: { metadataUrl: string; apiBaseUrl: (dc: string) => string }
  /** A live view. */
  readonly counters: SandboxCounters
  resetCounters(): void
  setLatency(ms: number): void
  /** How member objects are answered from now on. */
  setAnswers(size: AnswerSize): void
  inject(fault: FaultSpec): void
  clearFaults(): void
  revokeToken(token: string): void
  /** Returns the audience id. */
  addAudience(seed?: AudienceSeed): string
  /** Creates tags by name as needed; seeds skip Mailchimp's address checks. */
  addContacts(audienceId: string, contacts: ContactSeed[]): void
  /** As if permanently deleted: "Forgotten Email Not Subscribed" on re-import. */
  forget(audienceId: string, email: string): void
  /** Case-insensitive, trimmed lookup; the address as stored, i.e. the first spelling Mailchimp received. */
  contact(audienceId: string, email: string): ContactView | undefined
  contacts(audienceId: string): Array<{ email_address: string; status: MemberStatus; tags: string[] }>
  /** Every tag with the number of contacts carrying it (archived ones included). */
  tags(audienceId: string): Array<{ id: number; name: string; member_count: number }>
  /** Addresses carrying the tag, whatever their status; a name matches ignoring case. */
  tagMembers(audienceId: string, tagIdOrName: number | string): string[]
  /** As if an operator deleted the tag in Mailchimp's UI. */
  deleteTag(audienceId: string, tagId: number): void
  /** How to reach and use it. */
  info(): SandboxInfo
  /** Also ends stalled requests. */
  close(): Promise<void>
}
