/**
 * Rows to plan: which rows are sent, and in which batches. A first read of the files checks every row and records in
 * a compact index which row decides each address (the last one); a second read sends only those rows, joiners and
 * leavers side by side in batches of at most 500 of each, the destination's chunk: one batch subscribe and one tag
 * call. Nothing but the index and the batches in flight is held, whatever the size of the files.
 */
import { checkEmail, planSync } from '../index'
import type { StatusIfNew } from '../index'
import { AddressIndex, membershipOf, ordinalOf } from './address-index'
import type { CohortRow, RowSource } from './cohort-file'

/** Mailchimp's cap on contacts in one batch subscribe call and in each list of one tag call. */
export const CONTACTS_PER_REQUEST = 500
/** Addresses listed when a file joins and removes the same contact. */
const LISTED_CONFLICTS = 5

/** A row with its place among every row read: ordinals run on from one source to the next. */
export interface IndexedRow {
  row: CohortRow
  ordinal: number
  sourceIndex: number
}

export interface RowRules {
  /** The column that holds each row's address: the destination's Email Property. */
  emailColumn: string
  cohort: string
  statusIfNew: StatusIfNew
}

/** What the first read learned. */
export interface FileIndex {
  index: AddressIndex
  /** Rows per source, in order. */
  rowsPerSource: number[]
  rows: number
  /** Distinct addresses whose deciding row joins, and leaves. */
  joiners: number
  leavers: number
  /** Rows folded into a later row for the same address. */
  duplicates: number
  /** Rows without a usable address (or membership), with the first one's place. */
  unusable: { rows: number; example?: string }
  /** Addresses that one file adds and the other removes. */
  conflicts: { addresses: number; examples: string[] }
}

/** The address's key under the destination's one rule (`checkEmail`), or undefined when the row cannot be sent. */
export function addressKey(row: CohortRow): string | undefined {
  if (row.problem !== undefined || typeof row.email !== 'string') return undefined
  const trimmed = row.email.trim()
  if (trimmed === '') return undefined
  const checked = checkEmail(trimmed)
  return checked.ok ? checked.key : undefined
}

/** The event's payload as the destination's planner reads it. */
function payloadOf(row: CohortRow, rules: RowRules) {
  return {
    user_properties: { [rules.emailColumn]: row.email },
    in_cohort: row.inCohort,
    merge_fields: row.mergeFields,
    cohort_name: rules.cohort,
    status_if_new: rules.statusIfNew,
    enable_batching: true
  }
}

/** Why a row cannot be sent, in the destination's own words (its planner decides), or the file's problem with it. */
export function refusalOf(row: CohortRow, rules: RowRules): string {
  if (row.problem !== undefined) return row.problem
  const { refused } = planSync({ payloads: [payloadOf(row, rules)], emailProperty: rules.emailColumn })
  return refused[0]?.error.message ?? 'The destination cannot send this row.'
}

/**
 * The first read: every row of every source, in order. Rows that cannot be sent are handed to `onUnusable` with the
 * reason; the others enter the index, the last row for an address replacing the earlier ones.
 */
export async function indexRows(
  sources: RowSource[],
  rules: RowRules,
  on: {
    unusable: (entry: IndexedRow, reason: string) => void
    bytes?: (source: number, bytes: number) => void
    /** Checked between rows: once true, the read ends where it is. */
    stopped?: () => boolean
  }
): Promise<FileIndex> {
  const index = new AddressIndex()
  const rowsPerSource: number[] = []
  const counts = { joiners: 0, leavers: 0, valid: 0 }
  const unusable: FileIndex['unusable'] = { rows: 0 }
  const conflicts: FileIndex['conflicts'] = { addresses: 0, examples: [] }
  let ordinal = 0
  for (const [sourceIndex, source] of sources.entries()) {
    const first = ordinal
    for await (const row of source.rows((bytes) => on.bytes?.(sourceIndex, bytes))) {
      if (on.stopped?.()) break
      const entry = { row, ordinal: ordinal++, sourceIndex }
      const key = addressKey(row)
      if (key === undefined) {
        unusable.rows++
        unusable.example ??= row.source
        on.unusable(entry, refusalOf(row, rules))
        continue
      }
      counts.valid++
      const previous = index.set(key, entry.ordinal, row.inCohort)
      if (previous === 0) {
        counts[row.inCohort ? 'joiners' : 'leavers']++
        continue
      }
      counts[membershipOf(previous) ? 'joiners' : 'leavers']--
      counts[row.inCohort ? 'joiners' : 'leavers']++
      // Within one file the rows are in order, and the last one wins; between two files there is no order.
      if (ordinalOf(previous) < first && membershipOf(previous) !== row.inCohort) {
        conflicts.addresses++
        if (conflicts.examples.length < LISTED_CONFLICTS) {
          const other = sources[sourceOf(ordinalOf(previous), rowsPerSource)]?.name ?? 'another file'
          conflicts.examples.push(`${JSON.stringify(String(row.email).trim())} (${row.source}, also in ${other})`)
        }
      }
    }
    rowsPerSource.push(ordinal - first)
  }
  return {
    index,
    rowsPerSource,
    rows: ordinal,
    joiners: counts.joiners,
    leavers: counts.leavers,
    duplicates: counts.valid - index.size,
    unusable,
    conflicts
  }
}

function sourceOf(ordinal: number, rowsPerSource: number[]): number {
  let end = 0
  for (const [i, rows] of rowsPerSource.entries()) if (ordinal < (end += rows)) return i
  return rowsPerSource.length
}

/**
 * The second read, for one membership: the rows that decide their address and join (or leave). Each source is read
 * by one such pass as its primary, which also hands every folded row to `onFolded` with the row that decides for it.
 */
export async function* decidingRows(
  sources: RowSource[],
  files: FileIndex,
  inCohort: boolean,
  onFolded?: (entry: IndexedRow, decidedBy: number) => void
): AsyncGenerator<IndexedRow> {
  let first = 0
  for (const [sourceIndex, source] of sources.entries()) {
    let ordinal = first
    first += files.rowsPerSource[sourceIndex]
    if (!(inCohort ? source.holds.joiners : source.holds.leavers)) continue
    const primary = inCohort || !source.holds.joiners
    for await (const row of source.rows()) {
      const entry = { row, ordinal: ordinal++, sourceIndex }
      const key = addressKey(row)
      if (key === undefined) continue
      const decidedBy = ordinalOf(files.index.get(key))
      if (decidedBy !== entry.ordinal) {
        if (primary) onFolded?.(entry, decidedBy)
      } else if (row.inCohort === inCohort) yield entry
    }
  }
}

/**
 * Joiners and leavers side by side: each batch takes up to 500 of each, as the destination's plan cuts its chunks,
 * so A joiners and R leavers take max(⌈A/500⌉, ⌈R/500⌉) batches. Stops between batches once `stopped()` says so.
 */
export async function* batchesOf(
  joiners: AsyncIterable<IndexedRow>,
  leavers: AsyncIterable<IndexedRow>,
  stopped: () => boolean = () => false
): AsyncGenerator<IndexedRow[]> {
  const streams = [joiners[Symbol.asyncIterator](), leavers[Symbol.asyncIterator]()]
  const done = [false, false]
  try {
    while (!(done[0] && done[1]) && !stopped()) {
      const batch: IndexedRow[] = []
      for (const [i, stream] of streams.entries()) {
        for (let taken = 0; !done[i] && taken < CONTACTS_PER_REQUEST; taken++) {
          const next = await stream.next()
          if (next.done) done[i] = true
          else batch.push(next.value)
        }
      }
      if (batch.length > 0) yield batch
    }
  } finally {
    await Promise.all(streams.map((stream, i) => (done[i] ? undefined : stream.return?.())))
  }
}

/** The sync's own requests for A joiners and R leavers, as the batches above send them. */
export function plannedRequests(joiners: number, leavers: number, statusIfNew: StatusIfNew) {
  const batches = Math.max(Math.ceil(joiners / CONTACTS_PER_REQUEST), Math.ceil(leavers / CONTACTS_PER_REQUEST))
  return {
    batchSubscribe: statusIfNew === 'skip' ? 0 : Math.ceil(joiners / CONTACTS_PER_REQUEST),
    tagUpdates: batches
  }
}
