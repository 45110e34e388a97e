/**
 * The send-and-retry loop: batches go to the destination through actions-core's `executeBatch`, a bounded number at
 * once (`eachBounded`, which pulls the next batch only when a worker is free, so the files are read as fast as
 * Mailchimp takes them and no faster). A row whose outcome is retryable (429, 5xx) is sent again with its batch's
 * other such rows after a back-off, before the worker takes a new batch.
 */
import { setTimeout as sleep } from 'timers/promises'
import type { Destination, SegmentEvent } from '@segment/actions-core'
import { eachBounded } from '../index'
import type { Settings } from '../index'
import type { RowOutcome } from './outcomes'
import type { IndexedRow } from './row-plan'

type BatchInput = Parameters<Destination<Settings>['executeBatch']>[1]
type Result = { status: number; body?: unknown; errormessage?: string }

/** What the destination said about a row. */
export type Settled = Pick<RowOutcome, 'status' | 'attempts' | 'result' | 'message' | 'mergeFieldsWritten'>

export interface SendJob {
  destination: Destination<Settings>
  /** What every call carries besides the events: mapping, settings, auth. */
  call: Omit<BatchInput, 'events'>
  /** The batch's events, one per row, in order. */
  events: (batch: IndexedRow[]) => SegmentEvent[]
  settle: (entry: IndexedRow, outcome: Settled) => void
  /** Batches in flight at once. */
  parallel: number
  /** Rounds of re-sending a batch's retryable rows. */
  retries: number
  /** The first back-off; it doubles with each round. */
  retryDelayMs: number
  /** Once aborted: no new batch and no re-send; the batches in flight finish. */
  stop?: AbortSignal
  /** After a stop, how long batches in flight may take before the loop returns without them. */
  graceMs: number
}

/** Sends every batch; resolves when all are settled, or `graceMs` after a stop with the rows still unsettled. */
export async function sendBatches(batches: AsyncIterable<IndexedRow[]>, job: SendJob): Promise<{ unsettled: number }> {
  const inFlight = new Set<IndexedRow>()
  const settle: SendJob['settle'] = (entry, outcome) => {
    inFlight.delete(entry)
    job.settle(entry, outcome)
  }
  const all = eachBounded(batches, job.parallel, async (batch) => {
    for (const entry of batch) inFlight.add(entry)
    await sendBatch(batch, { ...job, settle })
  })
  const stop = job.stop
  if (!stop) {
    await all
    return { unsettled: 0 }
  }
  // A stop lets the batches in flight finish, within the grace period; the loop does not wait longer for them.
  let timer: NodeJS.Timeout | undefined
  const graceOver = new Promise<void>((resolve) => {
    const start = () => (timer = setTimeout(resolve, job.graceMs))
    if (stop.aborted) start()
    else stop.addEventListener('abort', start, { once: true })
  })
  try {
    await Promise.race([all, graceOver])
  } finally {
    clearTimeout(timer)
  }
  all.catch(() => undefined)
  return { unsettled: inFlight.size }
}

async function sendBatch(batch: IndexedRow[], job: SendJob): Promise<void> {
  let pending = batch
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) {
      try {
        await sleep(job.retryDelayMs * 2 ** (round - 1), undefined, { signal: job.stop })
      } catch {
        // Stopped while waiting: the rows keep the retryable outcome they had.
      }
    }
    const results = await execute(pending, job)
    // actions-core keeps every response until its host drops them; this host has no use for them.
    job.destination.responses.length = 0
    const again: IndexedRow[] = []
    pending.forEach((entry, i) => {
      const result: Result = results[i] ?? { status: 500, errormessage: 'No outcome from the destination.' }
      const status = result.status
      const retryable = status === 429 || status >= 500
      if (retryable && round < job.retries && !job.stop?.aborted) {
        again.push(entry)
        return
      }
      job.settle(
        entry,
        status < 300
          ? succeeded(status, round + 1, result.body as { result?: string; merge_fields?: string } | undefined)
          : { status, attempts: round + 1, message: result.errormessage ?? 'No outcome from the destination.' }
      )
    })
    pending = again
  }
}

async function execute(batch: IndexedRow[], job: SendJob): Promise<Result[]> {
  try {
    return (await job.destination.executeBatch('syncCohort', { ...job.call, events: job.events(batch) })) as Result[]
  } catch (error) {
    // Nothing is known to have landed: every row of the batch fails, retryably, rather than go unreported.
    return batch.map(() => ({ status: 500, errormessage: `The batch failed: ${(error as Error).message}` }))
  }
}

/**
 * A row the destination confirmed. Merge fields asked for but not written (the contact is in a compliance state, or
 * Skip is set) mean the row did not fully land, so it says so and counts as failed.
 */
function succeeded(
  status: number,
  attempts: number,
  body: { result?: string; merge_fields?: string } | undefined
): Settled {
  if (body?.merge_fields !== 'not_written') return { status, attempts, result: body?.result }
  return {
    status,
    attempts,
    result: body.result,
    mergeFieldsWritten: false,
    message: `Tagged (${body.result ?? 'ok'}), but Mailchimp did not write the merge fields.`
  }
}
