import type { Logger, StatsContext } from '@segment/actions-core'
import { plural } from './validation'

/**
 * What the plugin reports to the host, when the host gives it a `statsContext` (metrics) or a `logger`, and nothing
 * when it does not. Metric names and tags never carry an email address, a token, a tag or cohort name: only fixed
 * words, operations, statuses and counts.
 *
 * Metrics (tags are the host's own plus the ones listed):
 * - `oauth_app_api_call` (counter, `endpoint:`): every request to Mailchimp, as Segment's destinations count them.
 * - `mailchimp_cohorts.request` (counter, `endpoint:`, `status_class:` 2xx…5xx or `none` without an answer).
 * - `mailchimp_cohorts.request_duration_ms` (histogram, `endpoint:`, `status_class:`).
 * - `mailchimp_cohorts.throttled` (counter, `endpoint:`): a 429 or a bare 403, Mailchimp's throttle.
 * - `mailchimp_cohorts.outcome` (counter, `outcome:` the result or error code, `status_class:`): events by outcome.
 * - `mailchimp_cohorts.contacts` (counter, `change:` created, tagged or untagged): contacts Mailchimp confirmed.
 * - `mailchimp_cohorts.tag` (counter, `action:` created or reused): tags resolved by name.
 */
export interface Telemetry {
  /** One request's answer: its status (undefined when none came), how long it took, Mailchimp's request id. */
  request(endpoint: string, answer: { status?: number; ms: number; throttled: boolean; requestId?: string }): void
  tag(action: 'created' | 'reused'): void
  batch(summary: BatchSummary): void
}

/** A batch's counts: never an address or a name. */
export interface BatchSummary {
  events: number
  /** Events by outcome (a result such as `added`, or an error code) and HTTP status. */
  outcomes: { outcome: string; status: number; events: number }[]
  /** Contacts (not events) whose change Mailchimp confirmed. */
  contacts: { created: number; tagged: number; untagged: number }
}

export interface TelemetryInput {
  statsContext?: StatsContext
  logger?: Logger
}

const statusClass = (status: number | undefined) => (status === undefined ? 'none' : `${Math.floor(status / 100)}xx`)

export const NO_TELEMETRY: Telemetry = { request: () => undefined, tag: () => undefined, batch: () => undefined }

/** A host's reporting must never break a sync: whatever it throws is dropped. */
function guarded<A extends unknown[]>(report: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      report(...args)
    } catch {
      // Nothing: metrics and logs are the host's, the outcome is the operator's.
    }
  }
}

export function telemetry({ statsContext, logger: hostLogger }: TelemetryInput = {}): Telemetry {
  const client = statsContext?.statsClient
  const stats = typeof client?.incr === 'function' && typeof client.histogram === 'function' ? client : undefined
  // Some hosts hand a partial logger: only the levels it has are used.
  const logger =
    typeof hostLogger?.warn === 'function' && typeof hostLogger.info === 'function' ? hostLogger : undefined
  if (!stats && !logger) return NO_TELEMETRY
  const base = Array.isArray(statsContext?.tags) ? statsContext.tags : []
  const tags = (...extra: string[]) => [...base, ...extra]
  return {
    request: guarded((endpoint: string, { status, ms, throttled, requestId }: Parameters<Telemetry['request']>[1]) => {
      if (stats) {
        const classTag = `status_class:${statusClass(status)}`
        stats.incr('oauth_app_api_call', 1, tags(`endpoint:${endpoint}`))
        stats.incr('mailchimp_cohorts.request', 1, tags(`endpoint:${endpoint}`, classTag))
        stats.histogram('mailchimp_cohorts.request_duration_ms', Math.round(ms), tags(`endpoint:${endpoint}`, classTag))
        if (throttled) stats.incr('mailchimp_cohorts.throttled', 1, tags(`endpoint:${endpoint}`))
      }
      if (logger && (status === undefined || status >= 400)) {
        const answer = status === undefined ? 'no answer' : `${status}${throttled ? ' (throttled)' : ''}`
        logger.warn(
          `Mailchimp ${endpoint}: ${answer} after ${Math.round(ms)} ms${requestId ? `; Mailchimp request id ${requestId}` : ''}`
        )
      }
    }),
    tag: guarded((action: 'created' | 'reused') => {
      stats?.incr('mailchimp_cohorts.tag', 1, tags(`action:${action}`))
    }),
    batch: guarded(({ events, outcomes, contacts }: BatchSummary) => {
      if (stats) {
        for (const { outcome, status, events: count } of outcomes) {
          stats.incr(
            'mailchimp_cohorts.outcome',
            count,
            tags(`outcome:${outcome}`, `status_class:${statusClass(status)}`)
          )
        }
        for (const [change, count] of Object.entries(contacts)) {
          if (count > 0) stats.incr('mailchimp_cohorts.contacts', count, tags(`change:${change}`))
        }
      }
      if (logger) {
        const counted = outcomes.map(({ outcome, status, events: count }) => `${outcome} ${status}: ${count}`)
        logger.info(
          `Mailchimp Cohorts batch of ${events} ${plural(events, 'event')}: ${contacts.created} ${plural(contacts.created, 'contact')} created, ${contacts.tagged} tagged, ${contacts.untagged} untagged; outcomes ${counted.join(', ') || 'none'}`
        )
      }
    })
  }
}
