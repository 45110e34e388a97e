/**
 * Wall time: 100,000 contacts against the sandbox at a given latency with Mailchimp's 10 connections, driven like a
 * host (batches of 1,000, several at once, re-sending what came back retryable after a back-off), for syncCohort and
 * for the minimal plugin, beside the limit: the fewest requests the sync needs, ten at a time, each taking the latency.
 */
import { setTimeout as sleep } from 'timers/promises'
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { connect, email, engage, host, MAILCHIMP_CONNECTIONS } from './host'
import type { Outcome } from './host'
import { expectTagHolds } from './requests'
import type { SandboxProcess } from './sandbox-process'

export const THROUGHPUT_CONTACTS = 100_000
/** Batches at once: enough that ten requests can be in flight (each batch of 1,000 runs two chunks side by side). */
export const HOST_WORKERS = 8
/** A host's retry schedule: the first resend after 1 s, then doubling. */
const RESEND_AFTER_MS = [1000, 2000, 4000, 8000, 16000]

/** The fewest requests any sync of N new contacts needs: 500 per batch subscribe, 500 per tag call. */
export const minimumRequests = (n: number) => 2 * Math.ceil(n / 500)
export const limitMs = (n: number, latencyMs: number) => (minimumRequests(n) / MAILCHIMP_CONNECTIONS) * latencyMs

export interface ThroughputRun {
  wallMs: number
  requests: number
  /** 429s the sandbox gave for its connection cap. */
  throttled: number
  peakInFlight: number
  /** Events sent again after a retryable outcome. */
  resent: number
  /** Outcomes that were neither 200 nor retryable, on any attempt: a throttle must never look like bad input. */
  nonRetryable: number
  /** Events still retryable when the host gave up. */
  unsettled: number
}

const retryable = (o: Outcome) => o.status === 429 || o.status >= 500

export async function throughputRun(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  options: { label: string; contacts: number; latencyMs: number; tagDefinition?: DestinationDefinition<Settings> }
): Promise<ThroughputRun> {
  const audienceId = await sandbox.addAudience(`throughput ${options.label}`)
  // The tag is made by syncCohort's createAudience, as a host connects a cohort, whichever plugin then syncs.
  const tagId = await connect(options.tagDefinition ?? definition, sandbox.token, audienceId)
  const target = host(definition, sandbox.token, audienceId)
  const local = `tp-${options.label.replace(/[^A-Za-z0-9]+/g, '-')}`
  const addresses = Array.from({ length: options.contacts }, (_, i) => email(local, i))
  let events = addresses.map((address) => engage(address, true, tagId))
  await sandbox.setLatency(options.latencyMs)
  await sandbox.resetCounters()
  const started = performance.now()
  let resent = 0
  let nonRetryable = 0
  for (let attempt = 0; events.length > 0 && attempt <= RESEND_AFTER_MS.length; attempt++) {
    if (attempt > 0) {
      await sleep(RESEND_AFTER_MS[attempt - 1])
      resent += events.length
    }
    const outcomes = await target.sync(events, { concurrency: HOST_WORKERS })
    nonRetryable += outcomes.filter((o) => o.status !== 200 && !retryable(o)).length
    events = events.filter((_, i) => retryable(outcomes[i]))
  }
  const wallMs = performance.now() - started
  await sandbox.setLatency(0)
  const counters = await sandbox.counters()
  if (events.length === 0 && nonRetryable === 0) await expectTagHolds(sandbox, audienceId, tagId, addresses)
  return {
    wallMs,
    requests: counters.total,
    throttled: counters.throttled,
    peakInFlight: counters.peakInFlight,
    resent,
    nonRetryable,
    unsettled: events.length
  }
}
