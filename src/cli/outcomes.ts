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

/** Rows whose outcome counts as landed: Mailchimp confirmed the change, or the wanted state already held. */
export const landed = (outcome: RowOutcome) =>
  outcome.status >= 200 && outcome.status < 300 && outcome.mergeFieldsWritten !== false

export interface OutcomeGroup {
  outcome: string
  rows: number
  example: RowOutcome
}

/** Failed rows kept whole for the report; the rest are counted (and written to --failed-rows). */
export const LISTED_FAILURES = 20
/** Kinds of outcome told apart; a file with more kinds than this has the rest counted together. */
const MAX_KINDS = 50

/** Groups messages by their opening words, which say what went wrong without the row's own address. */
function firstWords(message: string): string {
  const head = message.split(/[:.]/)[0].trim()
  return head.length > 60 ? `${head.slice(0, 60)}…` : head
}

/** The label an outcome is counted under: `200 added`, `400 Not an email address`. */
export function outcomeLabel(outcome: RowOutcome): string {
  return landed(outcome)
    ? `${outcome.status} ${outcome.result ?? 'ok'}`
    : `${outcome.status} ${firstWords(outcome.message ?? '')}`
}

/** Outcomes grouped by what happened, most frequent first. */
export function outcomeCounts(outcomes: Iterable<RowOutcome>): OutcomeGroup[] {
  const tally = new OutcomeTally()
  for (const outcome of outcomes) tally.add(outcome)
  return tally.groups()
}

/**
 * Outcomes counted as they come, in bounded memory whatever the number of rows: counts by kind with the first row of
 * each as its example, and the failed rows that come first in the files, in full.
 */
export class OutcomeTally {
  rows = 0
  landed = 0
  failed = 0
  /** The first failed rows in file order (by `order`), at most LISTED_FAILURES. */
  private readonly listed: { order: number; outcome: RowOutcome }[] = []
  private readonly kinds = new Map<string, OutcomeGroup>()

  /** `order` places the row among all rows (its ordinal); by default, the order outcomes come in. */
  add(outcome: RowOutcome, order = this.rows): void {
    this.rows++
    if (landed(outcome)) this.landed++
    else {
      this.failed++
      this.list(order, outcome)
    }
    let label = landed(outcome) ? this.landedLabel(outcome) : outcomeLabel(outcome)
    if (!this.kinds.has(label) && this.kinds.size >= MAX_KINDS) label = `${outcome.status} (other outcomes)`
    const group = this.kinds.get(label) ?? { outcome: label, rows: 0, example: outcome }
    group.rows++
    this.kinds.set(label, group)
  }

  groups(): OutcomeGroup[] {
    return [...this.kinds.values()].sort((a, b) => b.rows - a.rows)
  }

  /** The failed rows that come first in the files, in file order. */
  firstFailures(): RowOutcome[] {
    return this.listed.map(({ outcome }) => outcome)
  }

  private readonly landedLabels = new Map<number, Map<string | undefined, string>>()

  /** Most rows land: their labels are made once. */
  private landedLabel(outcome: RowOutcome): string {
    let byResult = this.landedLabels.get(outcome.status)
    if (!byResult) this.landedLabels.set(outcome.status, (byResult = new Map()))
    let label = byResult.get(outcome.result)
    if (label === undefined) byResult.set(outcome.result, (label = outcomeLabel(outcome)))
    return label
  }

  private list(order: number, outcome: RowOutcome): void {
    if (this.listed.length === LISTED_FAILURES && order > this.listed[LISTED_FAILURES - 1].order) return
    const at = this.listed.findIndex((entry) => entry.order > order)
    this.listed.splice(at === -1 ? this.listed.length : at, 0, { order, outcome })
    if (this.listed.length > LISTED_FAILURES) this.listed.pop()
  }
}
