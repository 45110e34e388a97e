import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import { Problem } from './schemas'

type RetryableStatus = ConstructorParameters<typeof RetryableError>[1]

export const NO_TOKEN_MESSAGE = 'No Mailchimp access token: connect Mailchimp in the destination settings.'

export const RECONNECT_MESSAGE =
  'Mailchimp rejected the access token: it was revoked or the user lost access. Reconnect Mailchimp in the destination settings.'

/** What a failed call was about, for messages that tell the operator what to fix. */
export interface RequestSubject {
  /** Message for a 404, e.g. the audience or tag that does not exist. */
  notFound?: string
  /** Error code for that 404, so callers can tell a missing audience from a missing tag. */
  notFoundCode?: 'AUDIENCE_NOT_FOUND' | 'TAG_NOT_FOUND' | 'CONTACT_NOT_FOUND'
}

/** Parses a body that may be JSON; `undefined` when it is not. */
export function parseJson(text: string): unknown {
  if (!text) return undefined
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function codeOf(problem: Problem | undefined, status: number): string {
  const title = problem?.title?.trim()
  return title ? title.toUpperCase().replace(/[^A-Z0-9]+/g, '_') : `HTTP_${status}`
}

/** "lead: Mailchimp's detail (instance …)", or just the lead when Mailchimp said nothing useful. */
function explain(lead: string, problem: Problem | undefined): string {
  const detail = problem?.detail || problem?.title
  const fields = (problem?.errors ?? [])
    .filter((error) => error.field || error.message)
    .map((error) => `${error.field ?? '?'}: ${error.message ?? 'invalid'}`)
  const where = fields.length > 0 ? ` (${fields.join('; ')})` : ''
  const instance = problem?.instance ? ` (Mailchimp error instance ${problem.instance})` : ''
  return detail ? `${lead}: ${detail}${where}${instance}` : `${lead}.`
}

function retryableStatus(status: number): RetryableStatus {
  return (status === 429 || (status >= 500 && status <= 511) ? status : 503) as RetryableStatus
}

/** The longest Retry-After worth repeating: beyond a day it is a garbled header or a far date, not a plan to wait. */
const MAX_RETRY_AFTER_SECONDS = 86_400

/**
 * Seconds to wait from a Retry-After header: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined when the
 * header is absent, unreadable or absurd (over a day; 400 nines would print "Infinity"), so the message falls back to
 * "later" rather than a made-up number.
 */
function retryAfterSeconds(header: string | null | undefined): number | undefined {
  const value = header?.trim()
  if (!value) return undefined
  const seconds = /^\d+$/.test(value) ? Number(value) : Math.max(0, Math.ceil((Date.parse(value) - Date.now()) / 1000))
  // An unreadable date gives NaN, which fails this comparison too.
  return seconds <= MAX_RETRY_AFTER_SECONDS ? seconds : undefined
}

/** Mailchimp's problem+json body, when it says something. */
function problemOf(body: string): Problem | undefined {
  const parsed = Problem.safeParse(parseJson(body))
  return parsed.success && (parsed.data.title || parsed.data.detail) ? parsed.data : undefined
}

/** Mailchimp saying "too many at once": a 429, or under heavy load a 403 without details. */
export function isThrottle(status: number, body: string): boolean {
  return status === 429 || (status === 403 && !problemOf(body))
}

/**
 * Maps a failed Mailchimp answer to the actions-core error the host understands. This is the only place that knows
 * Mailchimp's error shapes; every caller gets an error whose message says what happened and what to do.
 * `retryAfter` is the answer's Retry-After header, if any.
 */
export function mailchimpError(
  status: number,
  body: string,
  subject: RequestSubject = {},
  retryAfter?: string | null
): Error {
  const problem = problemOf(body)

  if (status === 401) return new InvalidAuthenticationError(RECONNECT_MESSAGE)
  if (status === 403 && !problem) {
    // Under heavy load Mailchimp throttles with a bare 403 instead of a 429 (isThrottle's reading; body parsed once).
    return new RetryableError('Mailchimp throttled the request (403 without details); try again later.', 429)
  }
  if (status === 429) {
    // The status stays a plain retryable 429 (the host has no field for a delay); the operator still learns the wait.
    const wait = retryAfterSeconds(retryAfter)
    const when = wait === undefined ? 'later' : `in ${wait} s`
    return new RetryableError(explain(`Mailchimp is rate limiting this account; try again ${when}`, problem), 429)
  }
  if (status >= 500) {
    return new RetryableError(
      explain(`Mailchimp is temporarily unavailable (${status}); try again later`, problem),
      retryableStatus(status)
    )
  }
  if (status === 404 && subject.notFound) {
    return new IntegrationError(subject.notFound, subject.notFoundCode ?? 'NOT_FOUND', 404)
  }
  return new IntegrationError(
    explain(`Mailchimp refused the request (${status})`, problem),
    status === 404 ? 'NOT_FOUND' : codeOf(problem, status),
    status
  )
}

/** A request that never got an answer: timed out, reset or refused. Safe to retry. */
export function transportError(error: unknown): RetryableError {
  const name = (error as { name?: string } | undefined)?.name ?? ''
  if (/timeout/i.test(name)) {
    return new RetryableError('Mailchimp did not answer in time; try again later.', 504)
  }
  const code = (error as { code?: string } | undefined)?.code
  return new RetryableError(`Could not reach Mailchimp (${code || name || 'network error'}); try again later.`, 503)
}

/** Mailchimp's API does not redirect; following one would send the token to an unchecked host. */
export function redirectRefused(status: number): IntegrationError {
  return new IntegrationError(
    `Mailchimp answered with a redirect (${status}); it was not followed, so the token stays with Mailchimp.`,
    'REDIRECT_REFUSED',
    502
  )
}

/** A 2xx answer we could not read: Mailchimp's confirmation is unknown, so nothing counts as done. */
export function unreadableAnswer(what: string): RetryableError {
  return new RetryableError(`Mailchimp's answer to ${what} could not be read; try again later.`, 502)
}
