import type { SyncSummary } from './cohort-sync'
import type { WrittenFile } from './failed-rows'
import { landed, LISTED_FAILURES } from './outcomes'
import type { RowOutcome } from './outcomes'

export { landed, outcomeCounts } from './outcomes'

/** Where the sync went, for the report's first line. */
export interface Target {
  kind: 'mailchimp' | 'sandbox'
  /** The sandbox's address, when the sync went there. */
  url?: string
}

/** What the report says beside the summary. */
export interface ReportContext {
  target: Target
  /** Requests the sandbox received during the run. */
  requests?: number
  /** The files `--failed-rows` wrote. */
  failedFiles?: WrittenFile[]
  /** Puts a destination's message in the command's words. */
  words?: (message: string) => string
}

const n = (value: number) => value.toLocaleString('en-US')
/** A count and its noun: "1 contact", "2 contacts". */
const count = (value: number, one: string, many = `${one}s`) => `${n(value)} ${value === 1 ? one : many}`
const plain = (message: string) => message

/** The exit code a finished run ends with. */
export function exitCodeOf(summary: SyncSummary): number {
  // A dry run whose mirror the safety check would refuse ends like the real run would: a usage error.
  if (summary.mirror?.refused) return 2
  if (summary.interrupted) return 130
  return summary.tally.failed > 0 || summary.notSent > 0 ? 1 : 0
}

/** The report a person reads. */
export function formatReport(summary: SyncSummary, context: ReportContext): string {
  const { target, requests, failedFiles = [] } = context
  const words = context.words ?? plain
  const where =
    target.kind === 'sandbox'
      ? `the local sandbox at ${target.url} (not Mailchimp: set MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY and leave out --sandbox to sync for real)`
      : 'Mailchimp'
  const dry = summary.dryRun
  const lines = [
    `${dry ? 'Dry run: nothing was changed. ' : ''}Cohort ${JSON.stringify(summary.cohort)} → audience ${summary.audienceId} in ${where}`,
    summary.tagId
      ? `Tag: ${JSON.stringify(summary.cohort)} (id ${summary.tagId})`
      : `Tag: ${JSON.stringify(summary.cohort)}`,
    `Rows: ${n(summary.rows)} read, ${count(summary.contacts, 'contact')} (${n(summary.joiners)} in the cohort, ${n(summary.leavers)} leaving), ${count(summary.duplicates, 'duplicate row')} folded into the last row for their address`,
    `${dry ? 'Would send' : 'Planned'}: ${n(summary.plannedRequests.batchSubscribe)} batch subscribe and ${count(summary.plannedRequests.tagUpdates, 'tag call')}, plus a few lookups`
  ]
  if (summary.mirror) {
    const { tagMembers, toUntag, examples, refused } = summary.mirror
    lines.push(
      `Mirror: the tag had ${count(tagMembers, 'contact')}; ${n(toUntag)} of them ${toUntag === 1 ? 'is' : 'are'} not in the file and ${dry ? 'would lose' : toUntag === 1 ? 'loses' : 'lose'} it${examples.length > 0 ? ` (e.g. ${examples.join(', ')})` : ''}`
    )
    if (refused) lines.push(`Refused: ${refused}`)
  }
  if (requests !== undefined) lines.push(`Requests Mailchimp received: ${n(requests)}`)
  const groups = summary.tally.groups()
  if (groups.length > 0) {
    lines.push(dry ? 'Would be refused:' : 'Outcomes:')
    for (const { outcome, rows, example } of groups) {
      lines.push(`  ${n(rows).padStart(9)}  ${words(outcome)}${landed(example) ? '' : `  (e.g. ${example.source})`}`)
    }
  }
  const failed = summary.tally.failed
  if (failed > 0) {
    lines.push(`${dry ? 'Rows that would fail' : 'Failed rows'} (${n(failed)}):`)
    for (const outcome of summary.tally.firstFailures()) {
      lines.push(`  ${outcome.source}  ${shown(outcome.email)}  ${outcome.status}  ${words(outcome.message ?? '')}`)
    }
    if (failed > LISTED_FAILURES) {
      const where = failedFiles.length > 0 ? 'in the --failed-rows file' : 'write them all with --failed-rows <path>'
      lines.push(`  … and ${n(failed - LISTED_FAILURES)} more (${where})`)
    }
  }
  for (const file of failedFiles) {
    lines.push(
      `Failed rows of ${file.of} written to ${file.path} (${n(file.rows)}): sync them again with ${file.of} ${file.path}`
    )
  }
  if (summary.interrupted || summary.incomplete) {
    const why = summary.interrupted ? 'Interrupted' : `Stopped early (${summary.incomplete})`
    lines.push(
      `${why}: ${n(summary.tally.landed)} rows landed, ${n(failed)} failed, ${n(summary.notSent)} contacts not sent or not confirmed. Running the same command again is safe: contacts already as wanted are left so (already_tagged, not_tagged).`
    )
  }
  lines.push(`Elapsed: ${(summary.elapsedMs / 1000).toFixed(1)} s`)
  return lines.join('\n')
}

/** The report a program reads (`--json`). */
export function jsonReport(summary: SyncSummary, context: ReportContext, exitCode: number) {
  const { target, requests, failedFiles } = context
  const words = context.words ?? plain
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
    outcomes: Object.fromEntries(summary.tally.groups().map(({ outcome, rows }) => [words(outcome), rows])),
    landed: summary.tally.landed,
    failed_count: summary.tally.failed,
    /** The first failed rows in file order; --failed-rows writes them all. */
    failed: summary.tally
      .firstFailures()
      .map(({ source, email, status, message }) => ({ source, email, status, message: words(message ?? '') })),
    ...(failedFiles ? { failed_rows_files: failedFiles } : {}),
    not_sent: summary.notSent,
    interrupted: summary.interrupted,
    ...(summary.incomplete ? { incomplete: summary.incomplete } : {}),
    elapsed_ms: summary.elapsedMs,
    exit_code: exitCode
  }
}

/** An address as the text report shows it: quoted, and cut short when it is absurdly long (--json has it whole). */
function shown(email: string): string {
  return JSON.stringify(email.length > 60 ? `${email.slice(0, 60)}…` : email)
}

export type { RowOutcome }
