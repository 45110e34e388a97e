/**
 * Syncs a cohort's rows into Mailchimp through actions-core, as a host does, in bounded memory whatever the size of the
 * files: read and check every row and index who decides each address (row-plan), check everything that can be checked
 * before sending (preflight, and the mirror's policy), create or find the tag, then read the files again and send the
 * deciding rows in batches (send). A dry run stops before the tag.
 */
import { defaultValues, Destination } from '@segment/actions-core'
import type { AudienceDestinationDefinition, JSONValue, SegmentEvent } from '@segment/actions-core'
import type { AudienceSettings, Settings, StatusIfNew } from '../index'
import { rowsSource } from './cohort-file'
import type { CohortRow, RowSource } from './cohort-file'
import { planMirror } from './mirror'
import type { MirrorOptions, MirrorPlan, MirrorSummary } from './mirror'
import { OutcomeTally } from './outcomes'
import type { RowOutcome } from './outcomes'
import { checkCohortName, checkConnection, checkMergeTags, rejectConflicts, resolveTag } from './preflight'
import type { ConnectionSettings } from './preflight'
import { batchesOf, decidingRows, indexRows, plannedRequests } from './row-plan'
import type { FileIndex, IndexedRow } from './row-plan'
import { sendBatches } from './send'
import type { Settled } from './send'
import { UsageError } from './errors'

export type { MirrorOptions, MirrorSummary } from './mirror'
export type { RowOutcome } from './outcomes'

/** Where each event carries its row's merge field values. */
const MERGE_FIELDS_TRAIT = 'mailchimp_merge_fields'

export interface SyncListeners {
  /** Every row's outcome as it is known; rows folded into a later row for their address get none here. */
  outcome?: (outcome: RowOutcome, entry: IndexedRow) => void
  /** A row folded into the row `decidedBy` (an ordinal), which decides its address. Slows the send a little. */
  folded?: (entry: IndexedRow, decidedBy: number) => void
  /** Bytes of source `source` read so far, during the first read. */
  reading?: (source: number, bytes: number) => void
  /** Deciding rows settled so far, of `total`, while sending. */
  sending?: (settled: number, total: number) => void
}

export interface CohortSyncJob {
  /** The destination definition, built by `mailchimpCohorts()` for Mailchimp or the sandbox. */
  definition: AudienceDestinationDefinition<Settings, AudienceSettings>
  token: string
  audienceId: string
  /** The cohort's name, which is the Mailchimp tag's name. */
  cohort: string
  /** The column (user property) that holds each row's email address. */
  emailColumn: string
  /** The files (or rows) in order; a later row for an address wins over an earlier one. */
  sources: RowSource[]
  statusIfNew: StatusIfNew
  /** The merge tags the rows carry values for, checked against the audience's before anything is sent. */
  mergeTags?: string[]
  /** Also untag contacts that carry the tag but are not in the files. */
  mirror?: MirrorOptions
  /** The tag's id from an earlier `createAudience`, as a host keeps it; checked with `getAudience` instead. */
  tagId?: string
  dryRun?: boolean
  /** Batches sent side by side (default 4); each has one request in flight at a time (merge field upserts aside). */
  parallelBatches?: number
  /** Rounds of re-sending rows whose outcome was retryable (429, 5xx); default 3. */
  retries?: number
  retryDelayMs?: number
  /** Once aborted, no new batch is sent; the batches in flight finish within `graceMs` (default 10 s). */
  stop?: AbortSignal
  graceMs?: number
  on?: SyncListeners
}

export interface SyncSummary {
  cohort: string
  audienceId: string
  dryRun: boolean
  tagId?: string
  /** Rows read from the files. */
  rows: number
  /** Distinct contacts after folding case and space duplicates (the mirror's leavers included). */
  contacts: number
  joiners: number
  leavers: number
  duplicates: number
  /** The sync's own requests (batch subscribe and tag calls), as planned; lookups come on top. */
  plannedRequests: { batchSubscribe: number; tagUpdates: number }
  mirror?: MirrorSummary
  /** Every outcome, counted. */
  tally: OutcomeTally
  /** Contacts that were not sent, or whose outcome never came back, because the run stopped early. */
  notSent: number
  /** A signal stopped the run. */
  interrupted: boolean
  /** Why sending ended early other than a signal (a file that could not be read the second time). */
  incomplete?: string
  elapsedMs: number
}

/**
 * Syncs the files' rows through actions-core, as a host does: checks the connection, creates or reuses the tag
 * (`createAudience`), then sends Engage-style audience events (`executeBatch`), re-sending retryable ones. With
 * `dryRun`, only the read-only checks run and the plan is returned.
 */
export async function syncCohort(job: CohortSyncJob): Promise<SyncSummary> {
  const started = Date.now()
  const stopped = () => job.stop?.aborted ?? false
  const destination = new Destination(job.definition)
  const settings: ConnectionSettings = {
    audience_id: job.audienceId,
    email_property: job.emailColumn,
    oauth: { access_token: job.token }
  }
  const rules = { emailColumn: job.emailColumn, cohort: job.cohort, statusIfNew: job.statusIfNew }
  const tally = new OutcomeTally()
  const settle = (entry: IndexedRow, { status, attempts, result, message, mergeFieldsWritten }: Settled) => {
    const { row } = entry
    const outcome: RowOutcome = {
      source: row.source,
      email: displayEmail(row.email),
      inCohort: row.inCohort,
      status,
      attempts
    }
    if (result !== undefined) outcome.result = result
    if (message !== undefined) outcome.message = message
    if (mergeFieldsWritten !== undefined) outcome.mergeFieldsWritten = mergeFieldsWritten
    tally.add(outcome, entry.ordinal)
    job.on?.outcome?.(outcome, entry)
  }

  checkCohortName(job.cohort)
  const files = await indexRows(job.sources, rules, {
    unusable: (entry, message) => settle(entry, { status: 400, message, attempts: 0 }),
    bytes: job.on?.reading,
    stopped
  })
  const counts = (mirror?: MirrorPlan): Omit<SyncSummary, 'tally' | 'notSent' | 'interrupted' | 'elapsedMs'> => {
    const leavers = files.leavers + (mirror?.summary.toUntag ?? 0)
    return {
      cohort: job.cohort,
      audienceId: job.audienceId,
      dryRun: job.dryRun ?? false,
      rows: files.rows,
      contacts: files.joiners + leavers,
      joiners: files.joiners,
      leavers,
      duplicates: files.duplicates,
      plannedRequests: plannedRequests(files.joiners, leavers, job.statusIfNew),
      ...(mirror ? { mirror: mirror.summary } : {})
    }
  }
  const ended = (summary: ReturnType<typeof counts>, more: Partial<SyncSummary> = {}): SyncSummary => ({
    ...summary,
    tally,
    notSent: 0,
    interrupted: false,
    ...more,
    elapsedMs: Date.now() - started
  })
  const interrupted = (summary: ReturnType<typeof counts>) =>
    ended(summary, { interrupted: true, notSent: summary.contacts })

  if (stopped()) return interrupted(counts())
  rejectConflicts(files)
  await checkConnection(job.definition, settings)
  await checkMergeTags(destination, job.mergeTags ?? [], settings)
  const mirror = job.mirror
    ? await planMirror({ token: job.token, audienceId: job.audienceId, cohort: job.cohort }, job.mirror, files)
    : undefined
  try {
    const planned = counts(mirror)
    if (job.dryRun) return ended(planned)
    if (mirror?.summary.refused) throw new UsageError(mirror.summary.refused)
    if (stopped()) return interrupted(planned)
    const tagId = await resolveTag(destination, settings, job.cohort, job.tagId)
    if (stopped()) return interrupted({ ...planned, tagId })
    const sent = await send(job, destination, settings, tagId, files, mirror, settle)
    const notSent = planned.contacts - sent.settled
    return ended(
      { ...planned, tagId },
      {
        notSent,
        interrupted: stopped(),
        ...(sent.incomplete ? { incomplete: sent.incomplete } : {})
      }
    )
  } finally {
    await mirror?.dispose()
  }
}

/** The second read: the deciding rows, joiners and leavers side by side, sent batch by batch. */
async function send(
  job: CohortSyncJob,
  destination: Destination<Settings>,
  settings: ConnectionSettings,
  tagId: string,
  files: FileIndex,
  mirror: MirrorPlan | undefined,
  settle: (entry: IndexedRow, outcome: Settled) => void
): Promise<{ settled: number; incomplete?: string }> {
  const { oauth, ...actionSettings } = settings
  const key = computationKey(job.cohort, job.emailColumn)
  const mapping = {
    ...defaultValues(job.definition.actions.syncCohort.fields),
    user_properties: { '@path': '$.traits' },
    merge_fields: { '@path': `$.traits.${MERGE_FIELDS_TRAIT}` },
    cohort_name: job.cohort,
    status_if_new: job.statusIfNew
  }
  const events = (batch: IndexedRow[]): SegmentEvent[] => {
    const timestamp = new Date().toISOString()
    return batch.map(({ row, ordinal }) => {
      const traits: Record<string, JSONValue> = { [job.emailColumn]: row.email as string, [key]: row.inCohort }
      if (row.mergeFields) traits[MERGE_FIELDS_TRAIT] = row.mergeFields as Record<string, string>
      return {
        type: 'identify',
        messageId: `mailchimp-cohort-${ordinal}`,
        timestamp,
        traits,
        context: { personas: { computation_class: 'audience', computation_key: key, external_audience_id: tagId } }
      }
    })
  }

  const folded = job.on?.folded
  // A read that can only find rows of a kind the first read counted none of is skipped, unless folded rows are wanted.
  const read = (inCohort: boolean, count: number) =>
    count > 0 || folded ? decidingRows(job.sources, files, inCohort, folded) : none<IndexedRow>()
  const mirrorLeavers = mirror ? mirrorRows(mirror, files.rows) : none<IndexedRow>()
  const total = files.joiners + files.leavers + (mirror?.summary.toUntag ?? 0)
  const batches = batchesOf(
    read(true, files.joiners),
    concat(read(false, files.leavers), mirrorLeavers),
    () => job.stop?.aborted ?? false
  )
  let settled = 0
  try {
    await sendBatches(batches, {
      destination,
      call: { mapping, settings: actionSettings, auth: { accessToken: oauth.access_token, refreshToken: '' } },
      events,
      settle: (entry, outcome) => {
        settled++
        settle(entry, outcome)
        job.on?.sending?.(settled, total)
      },
      parallel: job.parallelBatches ?? 4,
      retries: job.retries ?? 3,
      retryDelayMs: job.retryDelayMs ?? 1000,
      stop: job.stop,
      graceMs: job.graceMs ?? 10_000
    })
  } catch (error) {
    // The first batch waits for every file to open again, so a file replaced before the send refuses the whole run.
    if (settled === 0 && error instanceof UsageError) throw error
    return { settled, incomplete: error instanceof Error ? error.message : String(error) }
  }
  return { settled }
}

/** The mirror's leavers, numbered after the files' rows. */
async function* mirrorRows(mirror: MirrorPlan, first: number): AsyncGenerator<IndexedRow> {
  let ordinal = first
  for await (const row of mirror.leavers.rows()) yield { row, ordinal: ordinal++, sourceIndex: -1 }
}

async function* concat<T>(...parts: AsyncIterable<T>[]): AsyncGenerator<T> {
  for (const part of parts) yield* part
}

async function* none<T>(): AsyncGenerator<T> {}

export type RowsSyncJob = Omit<CohortSyncJob, 'sources' | 'on'> & {
  rows: CohortRow[]
  onProgress?: (settled: number, total: number) => void
}

export type RowsSyncSummary = SyncSummary & { outcomes: RowOutcome[] }

/**
 * Syncs rows held in memory, and returns every row's outcome in row order: rows folded into a later row for the same
 * address report that row's outcome, marked `superseded`. For the main job and tests, whose files are small.
 */
export async function syncCohortRows(job: RowsSyncJob): Promise<RowsSyncSummary> {
  const { rows, onProgress, ...rest } = job
  const outcomes: (RowOutcome | undefined)[] = new Array(rows.length)
  const folded = new Map<number, number>()
  const summary = await syncCohort({
    ...rest,
    mergeTags: rest.mergeTags ?? [...new Set(rows.flatMap((row) => Object.keys(row.mergeFields ?? {})))],
    sources: [rowsSource('rows', rows)],
    on: {
      outcome: (outcome, { ordinal }) => (outcomes[ordinal] = outcome),
      folded: ({ ordinal }, decidedBy) => folded.set(ordinal, decidedBy),
      sending: onProgress
    }
  })
  for (const [ordinal, decidedBy] of folded) {
    const decided = outcomes[decidedBy]
    const row = rows[ordinal]
    if (decided)
      outcomes[ordinal] = {
        ...decided,
        source: row.source,
        email: displayEmail(row.email),
        inCohort: row.inCohort,
        superseded: true
      }
  }
  return { ...summary, outcomes: outcomes.filter((outcome): outcome is RowOutcome => outcome !== undefined) }
}

/** Engage names an audience's membership trait after the audience: `Power users` → `power_users`. */
function computationKey(cohort: string, emailColumn: string): string {
  const key =
    cohort
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '') || 'cohort'
  return key === emailColumn ? `${key}_member` : key
}

function displayEmail(email: unknown): string {
  return typeof email === 'string' ? email : email === undefined ? '' : JSON.stringify(email)
}
