/**
 * The main job (`npm start`): the whole life of a cohort in Mailchimp, against the local sandbox, driven through
 * actions-core as a host drives it. Connect, create the tag, sync a 5,000-user cohort with bad rows in it, then a
 * scheduled delta of leavers and joiners; then check the sandbox's state against what the outcomes claimed.
 */
import { readFile } from 'fs/promises'
import { join } from 'path'
import { SingleBar } from 'cli-progress'
import { parse } from 'csv-parse/sync'
import { foldEmail, mailchimpCohorts } from '../index'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from '../sandbox'
import type { MailchimpSandbox, MemberStatus } from '../sandbox'
import { readCohortFile } from './cohort-file'
import { syncCohortRows } from './cohort-sync'
import type { RowsSyncJob, RowsSyncSummary } from './cohort-sync'
import { landed, outcomeCounts } from './outcomes'

const EXAMPLES = join(__dirname, '..', '..', 'examples')
const AUDIENCE = SANDBOX_AUDIENCE_ID
const COHORT = 'Power users'
const FORGOTTEN = ['forgotten.one@mail.sample-shop.dev', 'forgotten.two@inbox.sample-co.dev']
/** A little latency makes the sandbox's timings resemble a real API's. */
const LATENCY_MS = 25

const n = (value: number) => value.toLocaleString('en-US')

async function main(): Promise<number> {
  const started = Date.now()
  const sandbox = await startSandbox({ latencyMs: LATENCY_MS })
  try {
    const existing = await seed(sandbox)
    const definition = mailchimpCohorts({ endpoints: sandbox.endpoints })
    const job: Omit<RowsSyncJob, 'rows'> = {
      definition,
      token: SANDBOX_TOKEN,
      audienceId: AUDIENCE,
      cohort: COHORT,
      emailColumn: 'email',
      statusIfNew: 'audience_default'
    }
    const print = (line = '') => process.stdout.write(`${line}\n`)
    print(`Mailchimp Cohorts main job: a local Mailchimp sandbox at ${sandbox.url} (not Mailchimp),`)
    print(`${LATENCY_MS} ms latency, Mailchimp's 10 requests in flight per user.`)
    print(`Audience ${AUDIENCE} starts with ${n(sandbox.contacts(AUDIENCE).length)} contacts and no tags.`)

    const cohort = await readCohortFile(join(EXAMPLES, 'power-users.csv'), {
      emailColumn: 'email',
      defaultMembership: true
    })
    print(`\n1. First sync: ${n(cohort.length)} rows of examples/power-users.csv into the tag "${COHORT}"`)
    const first = await withProgress(cohort.length, (onProgress) =>
      syncCohortRows({ ...job, rows: cohort, onProgress })
    )
    report(first, sandbox, print)

    sandbox.resetCounters()
    const delta = await readCohortFile(join(EXAMPLES, 'power-users-delta.csv'), {
      emailColumn: 'email',
      membershipColumn: 'in_cohort',
      defaultMembership: true
    })
    print(`\n2. Scheduled delta: ${n(delta.length)} rows of examples/power-users-delta.csv (leavers and joiners)`)
    const second = await withProgress(delta.length, (onProgress) =>
      syncCohortRows({ ...job, rows: delta, tagId: first.tagId, onProgress })
    )
    report(second, sandbox, print)

    const problems = check(sandbox, first, second, existing)
    const members = sandbox.tagMembers(AUDIENCE, Number(first.tagId)).length
    print(`\n3. Checked against the sandbox's state`)
    const verdict = problems.list.length === 0 ? ': exactly the contacts whose outcomes said so' : ''
    print(`  tag "${COHORT}" (id ${first.tagId}) has ${n(members)} members${verdict}`)
    print(`  contacts in the audience: ${n(existing.size)} before, ${n(sandbox.contacts(AUDIENCE).length)} after`)
    print(
      `  statuses of the ${n(existing.size)} contacts that existed before: ${problems.statusChanged === 0 ? 'all unchanged' : `${problems.statusChanged} CHANGED`}`
    )
    for (const problem of problems.list) print(`  PROBLEM: ${problem}`)
    print(
      `\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s.${problems.list.length === 0 ? '' : ' The checks above failed.'}`
    )
    return problems.list.length === 0 ? 0 : 1
  } finally {
    await sandbox.close()
  }
}

/** The audience as it is before the first sync: contacts in every status, and two addresses deleted for good. */
async function seed(sandbox: MailchimpSandbox): Promise<Map<string, MemberStatus>> {
  sandbox.addAudience({ id: AUDIENCE, name: 'Sandbox audience', double_optin: false })
  const rows: { email: string; status: MemberStatus }[] = parse(
    await readFile(join(EXAMPLES, 'sandbox-audience.csv')),
    {
      columns: true
    }
  )
  sandbox.addContacts(
    AUDIENCE,
    rows.map(({ email, status }) => ({ email_address: email, status }))
  )
  for (const email of FORGOTTEN) sandbox.forget(AUDIENCE, email)
  return new Map(rows.map(({ email, status }) => [foldEmail(email), status]))
}

async function withProgress<T>(total: number, work: (onProgress: (settled: number) => void) => Promise<T>): Promise<T> {
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: '  {bar} {value}/{total} events', hideCursor: true, stream: process.stderr })
    : undefined
  bar?.start(total, 0)
  try {
    return await work((settled) => bar?.update(settled))
  } finally {
    bar?.stop()
  }
}

function report(summary: RowsSyncSummary, sandbox: MailchimpSandbox, print: (line?: string) => void): void {
  // Per contact: rows folded into a later row for the same address repeat its outcome and are not counted again.
  const results = (...names: string[]) =>
    summary.outcomes.filter((o) => !o.superseded && landed(o) && names.includes(o.result ?? '')).length
  print(
    `  tag id ${summary.tagId}; ${n(summary.contacts)} contacts after folding ${n(summary.duplicates)} duplicate rows`
  )
  print(
    `  created ${n(results('created_and_added'))} contacts, tagged ${n(results('created_and_added', 'added'))}, ` +
      `untagged ${n(results('removed'))}, already as wanted ${n(results('already_tagged', 'not_tagged'))}`
  )
  print('  outcomes:')
  for (const { outcome, rows, example } of outcomeCounts(summary.outcomes)) {
    const detail = landed(example)
      ? ''
      : `  e.g. ${example.source} ${JSON.stringify(example.email.slice(0, 40))}: ${example.message}`
    print(`    ${n(rows).padStart(6)}  ${outcome}${detail}`)
  }
  const { counters } = sandbox
  print(
    `  Mailchimp requests: ${n(counters.total)} (peak ${counters.peakInFlight} in flight, ${counters.throttled} throttled)`
  )
  for (const [route, count] of Object.entries(counters.byRoute).sort())
    print(`    ${String(count).padStart(6)}  ${route}`)
  print(`  elapsed ${(summary.elapsedMs / 1000).toFixed(2)} s`)
}

/** What the outcomes claimed must be what the sandbox holds, and no existing contact's status may have moved. */
function check(
  sandbox: MailchimpSandbox,
  first: RowsSyncSummary,
  second: RowsSyncSummary,
  existing: Map<string, MemberStatus>
): { list: string[]; statusChanged: number } {
  const expected = new Set<string>()
  for (const outcome of [...first.outcomes, ...second.outcomes]) {
    if (!landed(outcome)) continue
    if (outcome.inCohort) expected.add(foldEmail(outcome.email))
    else expected.delete(foldEmail(outcome.email))
  }
  const actual = new Set(sandbox.tagMembers(AUDIENCE, Number(first.tagId)).map(foldEmail))
  const list: string[] = []
  const missing = [...expected].filter((email) => !actual.has(email))
  const extra = [...actual].filter((email) => !expected.has(email))
  if (missing.length > 0)
    list.push(`${missing.length} contacts reported tagged do not carry the tag, e.g. ${missing[0]}`)
  if (extra.length > 0)
    list.push(`${extra.length} contacts carry the tag without an outcome saying so, e.g. ${extra[0]}`)
  let statusChanged = 0
  for (const [email, status] of existing) if (sandbox.contact(AUDIENCE, email)?.status !== status) statusChanged++
  if (statusChanged > 0) list.push(`${statusChanged} existing contacts changed status`)
  return { list, statusChanged }
}

main().then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(`main job failed: ${error instanceof Error ? error.stack : String(error)}\n`)
    process.exitCode = 1
  }
)
