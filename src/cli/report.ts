import type { RowOutcome, SyncSummary } from './cohort-sync'

/** Where the sync went, for the report's first line. */
export interface Target {
  kind: 'mailchimp' | 'sandbox'
  /** The sandbox's address, when the sync went there. */
  url?: string
}

/** Rows whose outcome counts as landed: Mailchimp confirmed the change, or the wanted state already held. */
export const landed = (outcome: RowOutcome) =>
  outcome.status >= 200 && outcome.status < 300 && outcome.mergeFieldsWritten !== false

const LISTED_FAILURES = 20

/** Outcomes grouped by what happened: `200 added`, `400 Not an email address…`. */
export function outcomeCounts(outcomes: RowOutcome[]): { outcome: string; rows: number; example: RowOutcome }[] {
  const groups = new Map<string, { outcome: string; rows: number; example: RowOutcome }>()
  for (const outcome of outcomes) {
    const label = landed(outcome)
      ? `${outcome.status} ${outcome.result ?? 'ok'}`
      : `${outcome.status} ${firstWords(outcome.message ?? '')}`
    const group = groups.get(label) ?? { outcome: label, rows: 0, example: outcome }
    group.rows++
    groups.set(label, group)
  }
  return [...groups.values()].sort((a, b) => b.rows - a.rows)
}

/** The report a person reads. */
export function formatReport(summary: SyncSummary, target: Target, requests?: number): string {
  const n = (value: number) => value.toLocaleString('en-US')
  const failed = summary.outcomes.filter((outcome) => !landed(outcome))
  const where =
    target.kind === 'sandbox'
      ? `the local sandbox at ${target.url} (not Mailchimp: set MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY to sync for real)`
      : 'Mailchimp'
  const lines = [
    `${summary.dryRun ? 'Dry run: nothing was changed. ' : ''}Cohort ${JSON.stringify(summary.cohort)} → audience ${summary.audienceId} in ${where}`,
    summary.tagId
      ? `Tag: ${JSON.stringify(summary.cohort)} (id ${summary.tagId})`
      : `Tag: ${JSON.stringify(summary.cohort)}`,
    `Rows: ${n(summary.rows)} read, ${n(summary.contacts)} contacts (${n(summary.joiners)} in the cohort, ${n(summary.leavers)} leaving), ${n(summary.duplicates)} duplicate rows folded`,
    `${summary.dryRun ? 'Would send' : 'Planned'}: ${n(summary.plannedRequests.batchSubscribe)} batch subscribe and ${n(summary.plannedRequests.tagUpdates)} tag calls, plus a few lookups`
  ]
  if (summary.mirror) {
    const { tagMembers, toUntag, examples, refused } = summary.mirror
    lines.push(
      `Mirror: the tag had ${n(tagMembers)} contacts; ${n(toUntag)} of them are not in the file and ${summary.dryRun ? 'would lose' : 'lose'} it${examples.length > 0 ? ` (e.g. ${examples.join(', ')})` : ''}`
    )
    if (refused) lines.push(`Refused: ${refused}`)
  }
  if (requests !== undefined) lines.push(`Requests Mailchimp received: ${n(requests)}`)
  if (summary.outcomes.length > 0) {
    lines.push(summary.dryRun ? 'Would be refused:' : 'Outcomes:')
    for (const { outcome, rows, example } of outcomeCounts(summary.outcomes)) {
      lines.push(`  ${n(rows).padStart(7)}  ${outcome}${landed(example) ? '' : `  (e.g. ${example.source})`}`)
    }
  }
  if (failed.length > 0) {
    lines.push(`${summary.dryRun ? 'Rows that would fail' : 'Failed rows'} (${n(failed.length)}):`)
    for (const outcome of failed.slice(0, LISTED_FAILURES)) {
      lines.push(`  ${outcome.source}  ${shown(outcome.email)}  ${outcome.status}  ${outcome.message ?? ''}`)
    }
    if (failed.length > LISTED_FAILURES)
      lines.push(`  … and ${n(failed.length - LISTED_FAILURES)} more (--json lists all)`)
  }
  lines.push(`Elapsed: ${(summary.elapsedMs / 1000).toFixed(1)} s`)
  return lines.join('\n')
}

/** The report a program reads (`--json`). */
export function jsonReport(summary: SyncSummary, target: Target, exitCode: number, requests?: number) {
  return {
    target: target.kind,
    ...(target.url ? { sandbox_url: target.url } : {}),
    dry_run: summary.dryRun,
    cohort: summary.cohort,
    audience_id: summary.audienceId,
    tag_id: summary.tagId ?? null,
    rows: summary.rows,
    contacts: summary.contacts,
    joiners: summary.joiners,
    leavers: summary.leavers,
    duplicates: summary.duplicates,
    planned_requests: {
      batch_subscribe: summary.plannedRequests.batchSubscribe,
      tag_updates: summary.plannedRequests.tagUpdates
    },
    ...(summary.mirror
      ? {
          mirror: {
            tag_members: summary.mirror.tagMembers,
            to_untag: summary.mirror.toUntag,
            examples: summary.mirror.examples,
            refused: summary.mirror.refused ?? null
          }
        }
      : {}),
    ...(requests !== undefined ? { requests } : {}),
    outcomes: Object.fromEntries(outcomeCounts(summary.outcomes).map(({ outcome, rows }) => [outcome, rows])),
    failed: summary.outcomes
      .filter((outcome) => !landed(outcome))
      .map(({ source, email, status, message }) => ({ source, email, status, message })),
    elapsed_ms: summary.elapsedMs,
    exit_code: exitCode
  }
}

/** An address as the text report shows it: quoted, and cut short when it is absurdly long (--json has it whole). */
function shown(email: string): string {
  return JSON.stringify(email.length > 60 ? `${email.slice(0, 60)}…` : email)
}

/** Groups messages by their opening words, which say what went wrong without the row's own address. */
function firstWords(message: string): string {
  const head = message.split(/[:.]/)[0].trim()
  return head.length > 60 ? `${head.slice(0, 60)}…` : head
}
