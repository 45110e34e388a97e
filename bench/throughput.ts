/**
 * Throughput: 100,000 contacts against the sandbox at 50 ms a request and Mailchimp's 10 connections, driven like a
 * host (batches of 1,000, several at once, re-sending what came back retryable), as a ratio to the limit: the fewest
 * requests the sync needs, ten at a time, each taking the latency.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { connect, email, engage, host } from './host'
import type { Outcome } from './host'
import type { SandboxProcess } from './sandbox-process'

export const THROUGHPUT_CONTACTS = 100_000
export const LATENCY_MS = 50
export const HOST_WORKERS = 4
const MAILCHIMP_CONNECTIONS = 10
const MAX_RESENDS = 5

/** The fewest requests any sync of N new contacts needs: 500 per batch subscribe, 500 per tag call. */
export const minimumRequests = (n: number) => 2 * Math.ceil(n / 500)
export const limitMs = (n: number) => (minimumRequests(n) / MAILCHIMP_CONNECTIONS) * LATENCY_MS

export interface ThroughputRun {
  wallMs: number
  requests: number
  throttled: number
  resent: number
  /** Outcomes that stayed failed after the resends, by status; a cap 429 among them would be a lost contact. */
  failed: Record<number, number>
  /** Outcomes (any attempt) with a 4xx other than 429: a throttle must never look like bad input. */
  nonRetryable: number
}

const retryable = (o: Outcome) => o.status === 429 || o.status >= 500

export async function throughputRun(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  run: number,
  contacts = THROUGHPUT_CONTACTS,
  workers = HOST_WORKERS
): Promise<ThroughputRun> {
  const audienceId = await sandbox.addAudience(`throughput ${run}`)
  const tagId = await connect(definition, sandbox.token, audienceId)
  const target = host(definition, sandbox.token, audienceId)
  let events = Array.from({ length: contacts }, (_, i) => engage(email(`tp${run}`, i), true, tagId))
  await sandbox.setLatency(LATENCY_MS)
  await sandbox.resetCounters()
  const started = performance.now()
  let resent = 0
  let nonRetryable = 0
  let failed: Record<number, number> = {}
  for (let attempt = 0; events.length > 0 && attempt <= MAX_RESENDS; attempt++) {
    const outcomes = await target.sync(events, { concurrency: workers })
    nonRetryable += outcomes.filter((o) => o.status >= 400 && o.status < 500 && o.status !== 429).length
    const again = events.filter((_, i) => retryable(outcomes[i]))
    failed = {}
    for (const o of outcomes) if (o.status !== 200) failed[o.status] = (failed[o.status] ?? 0) + 1
    if (attempt > 0) resent += events.length
    events = again
  }
  const wallMs = performance.now() - started
  await sandbox.setLatency(0)
  const counters = await sandbox.counters()
  return { wallMs, requests: counters.total, throttled: counters.throttled, resent, failed, nonRetryable }
}
