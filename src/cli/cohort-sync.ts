import { createRequestClient, defaultValues, Destination } from '@segment/actions-core'
import type { AudienceDestinationDefinition, DynamicFieldResponse, SegmentEvent } from '@segment/actions-core'
import { checkTagName, eachBounded, foldEmail, planSync, readTagMembers } from '../index'
import type { AudienceSettings, ContactChange, DestinationOptions, Settings, StatusIfNew, TagMembers } from '../index'
import type { CohortRow } from './cohort-file'
import { beforeSync, TransientError, UsageError } from './errors'

/** Where each event carries its row's merge field values. */
const MERGE_FIELDS_TRAIT = 'mailchimp_merge_fields'

export interface CohortSyncJob {
  /** The destination definition, built by `mailchimpCohorts()` for Mailchimp or the sandbox. */
  definition: AudienceDestinationDefinition<Settings, AudienceSettings>
  token: string
  audienceId: string
  /** The cohort's name, which is the Mailchimp tag's name. */
  cohort: string
  /** The column (user property) that holds each row's email address. */
  emailColumn: string
  rows: CohortRow[]
  statusIfNew: StatusIfNew
  /** Also untag contacts that carry the tag but are not in the file. */
  mirror?: MirrorOptions
  /** The tag's id from an earlier `createAudience`, as a host keeps it; checked with `getAudience` instead. */
  tagId?: string
  dryRun?: boolean
  /** Batches sent side by side (default 4). Each batch is one chunk, so one request in flight each, under Mailchimp's 10. */
  parallelBatches?: number
  /** Rounds of re-sending rows whose outcome was retryable (429, 5xx). */
  retries?: number
  retryDelayMs?: number
  onProgress?: (settled: number, total: number) => void
}

/** What happened to one row. */
export interface RowOutcome {
  source: string
  email: string
  inCohort: boolean
  status: number
  /** On success, the destination's result: created_and_added, added, already_tagged, removed, not_tagged. */
  result?: string
  message?: string
  /** A later row for the same address decided what happened; this row reports that outcome. */
  superseded?: boolean
  /** false when the row carried merge fields that Mailchimp did not write. */
  mergeFieldsWritten?: boolean
  attempts: number
}

/** A full resync: the tag ends up on exactly the file's contacts. */
export interface MirrorOptions {
  /** How the destination was built, to read the tag's members the same way. */
  options: DestinationOptions
  /** The largest share of the tag's contacts (0–1) a mirror may untag without `force`. */
  maxUntagShare: number
  force: boolean
  /** Go ahead although some rows have no usable address (their contacts may lose the tag). */
  ignoreBadRows: boolean
}

export interface MirrorSummary {
  /** Contacts carrying the tag before the sync. */
  tagMembers: number
  /** Of those, the ones missing from the file, which lose the tag. */
  toUntag: number
  examples: string[]
  /** Why the safety check refuses to go ahead, when it does. */
  refused?: string
}

export interface SyncSummary {
  cohort: string
  audienceId: string
  dryRun: boolean
  tagId?: string
  rows: number
  /** Distinct contacts after folding case and space duplicates. */
  contacts: number
  joiners: number
  leavers: number
  duplicates: number
  /** The sync's own requests (batch subscribe and tag calls), as planned; lookups come on top. */
  plannedRequests: { batchSubscribe: number; tagUpdates: number }
  mirror?: MirrorSummary
  outcomes: RowOutcome[]
  elapsedMs: number
}

interface Planned {
  row: CohortRow
  index: number
  /** The planned change this row won, or the index of the row that won over it. */
  change?: ContactChange
  supersededBy?: number
  /** The file says something unusable about the row: it is never sent. */
  blocked?: string
  /** The destination will refuse the row (its planner says why); sent all the same, so its outcome is the host's. */
  refusal?: string
}

/**
 * Syncs rows of a cohort file into Mailchimp through actions-core, as a host does: checks the connection, creates or
 * reuses the tag (`createAudience`), then sends Engage-style audience events (`executeBatch`), re-sending retryable
 * ones. With `dryRun`, only the read-only connection check runs and the plan is returned.
 */
export async function syncCohortRows(job: CohortSyncJob): Promise<SyncSummary> {
  const started = Date.now()
  const destination = new Destination(job.definition)
  const settings = { audience_id: job.audienceId, email_property: job.emailColumn, oauth: { access_token: job.token } }
  const { oauth, ...actionSettings } = settings
  const auth = { accessToken: oauth.access_token, refreshToken: '' }
  const key = computationKey(job.cohort, job.emailColumn)
  const mapping = {
    ...defaultValues(job.definition.actions.syncCohort.fields),
    user_properties: { '@path': '$.traits' },
    merge_fields: { '@path': `$.traits.${MERGE_FIELDS_TRAIT}` },
    cohort_name: job.cohort,
    status_if_new: job.statusIfNew
  }

  try {
    checkTagName(job.cohort)
  } catch (error) {
    throw new UsageError(`--cohort: ${(error as Error).message}`)
  }
  await checkConnection(job.definition, settings)
  await checkMergeTags(destination, job, settings)
  const filePlan = plan(job)
  const unusable = filePlan.entries.filter((entry) => entry.refusal || entry.blocked)
  const mirror = job.mirror ? await mirrorDiff(job, job.mirror, unusable) : undefined
  // The mirror's leavers join the file's rows; only then is the plan made again.
  const { entries: planned, chunks } = mirror ? plan({ ...job, rows: [...job.rows, ...mirror.leavers] }) : filePlan
  const summary = { ...summarize(job, chunks, planned), ...(mirror ? { mirror: mirror.summary } : {}) }
  const outcomes = new Map<number, RowOutcome>()
  const settle = (index: number, outcome: Omit<RowOutcome, 'source' | 'email' | 'inCohort'>) => {
    const { row } = planned[index]
    outcomes.set(index, { ...outcome, source: row.source, email: displayEmail(row.email), inCohort: row.inCohort })
    job.onProgress?.(outcomes.size, planned.length)
  }
  for (const entry of planned)
    if (entry.blocked) settle(entry.index, { status: 400, message: entry.blocked, attempts: 0 })

  if (job.dryRun) {
    for (const entry of planned)
      if (entry.refusal) settle(entry.index, { status: 400, message: entry.refusal, attempts: 0 })
    return { ...summary, outcomes: [...outcomes.values()], elapsedMs: Date.now() - started }
  }
  if (mirror?.summary.refused) throw new UsageError(mirror.summary.refused)

  let tagId: string
  try {
    tagId = job.tagId
      ? (await destination.getAudience({ settings, externalId: job.tagId })).externalId
      : (await destination.createAudience({ settings, audienceName: job.cohort, audienceSettings: {} })).externalId
  } catch (error) {
    throw beforeSync(
      error,
      `Cannot create or find the tag ${JSON.stringify(job.cohort)}`,
      'No contact was sent; run the command again (a tag created meanwhile is reused).'
    )
  }

  const event = (entry: Planned): SegmentEvent => ({
    type: 'identify',
    messageId: `mailchimp-cohort-${entry.index}`,
    timestamp: new Date().toISOString(),
    traits: {
      [job.emailColumn]: entry.row.email as string,
      [key]: entry.row.inCohort,
      ...(entry.row.mergeFields ? { [MERGE_FIELDS_TRAIT]: entry.row.mergeFields as Record<string, string> } : {})
    },
    context: { personas: { computation_class: 'audience', computation_key: key, external_audience_id: tagId } }
  })

  // One batch per chunk of the destination's plan: one batch subscribe and one tag call each. Rows the destination
  // will refuse cost no request and ride in the first batch.
  const refused = planned.filter((entry) => entry.refusal)
  let pending = chunks.length > 0 ? [[...refused, ...chunks[0]], ...chunks.slice(1)] : [refused]
  pending = pending.filter((batch) => batch.length > 0)
  const attempts = new Map<number, number>()
  for (let round = 0; pending.length > 0; round++) {
    if (round > 0) await sleep((job.retryDelayMs ?? 1000) * 2 ** (round - 1))
    const retry: Planned[][] = []
    await eachBounded(pending, job.parallelBatches ?? 4, async (batch) => {
      const again: Planned[] = []
      let results: { status: number; body?: unknown; errormessage?: string }[]
      try {
        results = await destination.executeBatch('syncCohort', {
          events: batch.map(event),
          mapping,
          settings: actionSettings,
          auth
        })
      } catch (error) {
        // Nothing is known to have landed: every row of the batch fails, retryably, rather than go unreported.
        results = batch.map(() => ({ status: 500, errormessage: `The batch failed: ${(error as Error).message}` }))
      }
      batch.forEach((entry, i) => {
        const result = results[i] as (typeof results)[number] | undefined
        const tries = (attempts.get(entry.index) ?? 0) + 1
        attempts.set(entry.index, tries)
        const status = result?.status ?? 500
        if ((status === 429 || status >= 500) && round < (job.retries ?? 3)) {
          again.push(entry)
          return
        }
        settle(entry.index, {
          status,
          attempts: tries,
          ...(status < 300
            ? succeeded(result?.body as { result?: string; merge_fields?: string } | undefined)
            : { message: result?.errormessage ?? 'No outcome from the destination.' })
        })
      })
      // A part of a chunk is still within one request of each kind.
      if (again.length > 0) retry.push(again)
    })
    pending = retry
  }

  // Rows folded into a later row for the same address report that row's outcome.
  for (const entry of planned) {
    if (entry.supersededBy === undefined) continue
    const winner = outcomes.get(entry.supersededBy)
    if (winner) settle(entry.index, { ...winner, superseded: true })
  }
  return {
    ...summary,
    tagId,
    outcomes: planned.map((entry) => outcomes.get(entry.index) as RowOutcome),
    elapsedMs: Date.now() - started
  }
}

/**
 * Reads who carries the tag now and turns everyone missing from the file into a leaver. Refuses (in `refused`) to
 * untag more than the allowed share of the tag unless forced: a truncated export must not empty a tag.
 */
async function mirrorDiff(
  job: CohortSyncJob,
  mirror: MirrorOptions,
  unusable: Planned[]
): Promise<{ leavers: CohortRow[]; summary: MirrorSummary }> {
  let current: TagMembers
  try {
    current = await readTagMembers(
      { token: job.token, audienceId: job.audienceId, tagName: job.cohort },
      mirror.options
    )
  } catch (error) {
    throw beforeSync(
      error,
      `Cannot read who carries the tag ${JSON.stringify(job.cohort)}`,
      'Nothing was sent; try again later.'
    )
  }
  const inFile = new Set(job.rows.flatMap((row) => (typeof row.email === 'string' ? [foldEmail(row.email)] : [])))
  const missing = current.emails.filter((email) => !inFile.has(foldEmail(email)))
  const share = current.emails.length === 0 ? 0 : missing.length / current.emails.length
  const percent = (value: number) => `${Math.round(value * 1000) / 10}%`
  const reasons = [
    ...(share > mirror.maxUntagShare && !mirror.force
      ? [
          `--mirror would remove the tag from ${missing.length} of its ${current.emails.length} contacts (${percent(share)}), more than the ${percent(mirror.maxUntagShare)} allowed. Check that the file holds the whole cohort; to go ahead, raise --max-untag or pass --force.`
        ]
      : []),
    // A row with a typo may stand for someone who carries the tag: a mirror would untag them.
    ...(unusable.length > 0 && !mirror.ignoreBadRows
      ? [
          `${unusable.length} row${unusable.length > 1 ? 's' : ''} of the file ${unusable.length > 1 ? 'have' : 'has'} no usable email address (e.g. ${unusable[0].row.source}), so --mirror cannot tell whom ${unusable.length > 1 ? 'they' : 'it'} meant and might untag them. Fix the file, or pass --ignore-bad-rows.`
        ]
      : [])
  ]
  const refused = reasons.length > 0 ? reasons.join(' ') : undefined
  return {
    leavers: missing.map((email) => ({ source: `tag "${job.cohort}"`, email, inCohort: false })),
    summary: {
      tagMembers: current.emails.length,
      toUntag: missing.length,
      examples: missing.slice(0, 5),
      ...(refused ? { refused } : {})
    }
  }
}

/**
 * Every merge tag the rows carry must be one of the audience's, as the destination's own field lists them: a wrong
 * `--merge-field` would otherwise fail every row.
 */
async function checkMergeTags(
  destination: Destination<Settings>,
  job: CohortSyncJob,
  settings: Settings & { oauth: { access_token: string } }
): Promise<void> {
  const tags = new Set(job.rows.flatMap((row) => Object.keys(row.mergeFields ?? {})))
  if (tags.size === 0) return
  const response = (await destination.executeDynamicField('syncCohort', 'merge_fields.__keys__', {
    settings,
    payload: {},
    auth: { accessToken: settings.oauth.access_token, refreshToken: '' }
  })) as DynamicFieldResponse
  if (response.error) throw new TransientError(`${response.error.message} Nothing was sent; try again later.`)
  const known = new Set(response.choices.map((choice) => choice.value.toUpperCase()))
  const unknown = [...tags].filter((tag) => !known.has(tag.toUpperCase()))
  if (unknown.length > 0) {
    throw new UsageError(
      `--merge-field: audience ${job.audienceId} has no merge field ${unknown.join(', ')} (it has ${[...known].join(', ') || 'none'}).`
    )
  }
}

/**
 * The destination's own connection check (the OAuth metadata, then the audience), read-only. Called directly rather
 * than through actions-core's `testAuthentication`, which rewords every failure as "Credentials are invalid" and so
 * would hide a Mailchimp outage behind a credentials error.
 */
async function checkConnection(
  definition: AudienceDestinationDefinition<Settings, AudienceSettings>,
  settings: Settings & { oauth: { access_token: string } }
): Promise<void> {
  const check = definition.authentication?.testAuthentication
  if (!check) return
  const request = createRequestClient(definition.extendRequest?.({ settings, payload: undefined }) ?? {})
  try {
    await check(request, { settings, auth: { accessToken: settings.oauth.access_token, refreshToken: '' } })
  } catch (error) {
    throw beforeSync(error, 'Cannot use Mailchimp', 'Nothing was sent; try again later.')
  }
}

/** The rows as the destination's planner sees them, and its chunks as the rows that won them. */
interface RowPlan {
  entries: Planned[]
  chunks: Planned[][]
}

/**
 * The destination's own planner decides validity, duplicates and chunks, so the dry run and the sync can never
 * disagree and the command sends exactly the requests the plan counts.
 */
function plan(job: CohortSyncJob): RowPlan {
  const entries: Planned[] = job.rows.map((row, index) => ({ row, index, blocked: row.problem }))
  const candidates = entries.filter((entry) => !entry.blocked)
  const { tags, refused } = planSync({
    payloads: candidates.map(({ row }) => ({
      user_properties: { [job.emailColumn]: row.email },
      in_cohort: row.inCohort,
      merge_fields: row.mergeFields,
      cohort_name: job.cohort,
      status_if_new: job.statusIfNew,
      enable_batching: true
    })),
    emailProperty: job.emailColumn
  })
  for (const { index, error } of refused) candidates[index].refusal = error.message
  const chunks = tags.flatMap((tag) =>
    tag.chunks.map((chunk) =>
      [...chunk.adds, ...chunk.removes].map((change) => {
        const winner = candidates[change.events[change.events.length - 1]]
        winner.change = change
        for (const loser of change.events.slice(0, -1)) candidates[loser].supersededBy = winner.index
        return winner
      })
    )
  )
  return { entries, chunks }
}

function summarize(
  job: CohortSyncJob,
  chunks: Planned[][],
  planned: Planned[]
): Omit<SyncSummary, 'outcomes' | 'elapsedMs'> {
  const changes = chunks.flat().map((entry) => entry.change as ContactChange)
  const joiners = changes.filter((change) => change.inCohort).length
  return {
    cohort: job.cohort,
    audienceId: job.audienceId,
    dryRun: job.dryRun ?? false,
    rows: job.rows.length,
    contacts: changes.length,
    joiners,
    leavers: changes.length - joiners,
    duplicates: planned.filter((entry) => entry.supersededBy !== undefined).length,
    plannedRequests: {
      batchSubscribe:
        job.statusIfNew === 'skip' ? 0 : chunks.filter((chunk) => chunk.some((entry) => entry.change?.inCohort)).length,
      tagUpdates: chunks.length
    }
  }
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

/**
 * A row the destination confirmed. Merge fields asked for but not written (the contact is in a compliance state, or
 * Skip is set) mean the row did not fully land, so it says so and counts as failed.
 */
function succeeded(body: { result?: string; merge_fields?: string } | undefined): Partial<RowOutcome> {
  if (body?.merge_fields !== 'not_written') return { result: body?.result }
  return {
    result: body.result,
    mergeFieldsWritten: false,
    message: `Tagged (${body.result ?? 'ok'}), but Mailchimp did not write the merge fields.`
  }
}

function displayEmail(email: unknown): string {
  return typeof email === 'string' ? email : email === undefined ? '' : JSON.stringify(email)
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
