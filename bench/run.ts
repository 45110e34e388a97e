/**
 * `npm run bench`: request economy, CPU overhead, throughput against Mailchimp's limit and memory, against the sandbox
 * in a process of its own. Prints one table and writes bench/RESULTS.md. Never part of `npm test`: timings on a shared
 * machine are for reading side by side, not for passing or failing.
 */
import { writeFile } from 'fs/promises'
import { join } from 'path'
import type { DestinationDefinition } from '@segment/actions-core'
import { Command } from 'commander'
import type { Settings } from '../src'
import { commandRows } from './command'
import { cpuPairs, EVENTS_PER_ARM } from './cpu'
import { destinationFor } from './host'
import { MEMORY_BATCH, memoryRun } from './memory'
import { baselineFor, cohortOf, oursFor, requestBound } from './requests'
import type { RequestCounts } from './requests'
import { startSandboxProcess } from './sandbox-process'
import type { SandboxProcess } from './sandbox-process'
import { machine, summarize } from './stats'
import type { Summary } from './stats'
import { HOST_WORKERS, LATENCY_MS, limitMs, minimumRequests, THROUGHPUT_CONTACTS, throughputRun } from './throughput'
import type { ThroughputRun } from './throughput'

interface Plan {
  sizes: number[]
  runs: number
  /** Per-contact baseline runs at the largest N: it costs 200,000 requests, and its count never varies. */
  baselineRunsAtLargest: number
  pairs: number
  throughputContacts: number
}

const FULL: Plan = {
  sizes: [1_000, 10_000, 100_000],
  runs: 3,
  baselineRunsAtLargest: 1,
  pairs: 9,
  throughputContacts: THROUGHPUT_CONTACTS
}
const QUICK: Plan = { sizes: [1_000, 10_000], runs: 2, baselineRunsAtLargest: 1, pairs: 3, throughputContacts: 10_000 }

const GOALS = { timesFewer: 300, cpuRatio: 1.3, throughputRatio: 1.5 }
/** As if the account's other integrations held 4 of Mailchimp's 10 connections: the cap is hit, and must cost nothing. */
const SHARED_ACCOUNT_CONNECTIONS = 6

interface Row {
  figure: string
  n: string
  summary: Summary
  format: (value: number) => string
  beside: string
  goal: string
  /** '' when the figure has no goal; 'yes', or 'NO' with by how much. */
  met: string
}

const int = (value: number) => Math.round(value).toLocaleString('en-US')
const fixed = (digits: number) => (value: number) => value.toFixed(digits)
const spread = (s: Summary, format: (value: number) => string) =>
  s.min === s.max ? format(s.min) : `${format(s.min)}–${format(s.max)}`
const progress = (line: string) => process.stderr.write(`${line}\n`)

/** 'yes', or 'NO' with the median and how far it is beyond the goal. */
function atMost(value: number, goal: number, format: (value: number) => string): string {
  return value <= goal ? 'yes' : `NO: ${format(value)}, ${Math.round((value / goal - 1) * 100)}% over ${format(goal)}`
}

async function repeat<T>(runs: number, label: string, work: (run: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let run = 0; run < runs; run++) {
    progress(`${label}: run ${run + 1} of ${runs}`)
    results.push(await work(run))
  }
  return results
}

async function requestRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  const rows: Row[] = []
  const notes: string[] = []
  const largest = Math.max(...plan.sizes)
  for (const n of plan.sizes) {
    const cohort = cohortOf(n)
    const ours = await repeat(plan.runs, `Requests, ours, N = ${int(n)}`, () => oursFor(definition, sandbox, cohort))
    const baselineRuns = n === largest ? plan.baselineRunsAtLargest : plan.runs
    const baseline = await repeat(baselineRuns, `Requests, per contact, N = ${int(n)}`, () =>
      baselineFor(sandbox, cohort)
    )
    for (const phase of ['first', 'delta'] as const) {
      const changes = cohort[phase]
      const mine = summarize(ours.map((r: RequestCounts) => r[phase]))
      const theirs = summarize(baseline.map((r) => r[phase]))
      const fewer = theirs.median / mine.median
      const bound = requestBound(changes)
      const atLargest = phase === 'first' && n === largest && largest >= 100_000
      const withinBound = mine.max <= bound
      const met = atLargest ? withinBound && fewer >= GOALS.timesFewer : withinBound
      rows.push({
        figure: phase === 'first' ? 'Requests, first sync' : 'Requests, delta (10% leave, 10% join)',
        n: int(changes.length),
        summary: mine,
        format: int,
        beside: `per contact ${int(theirs.median)} (${int(fewer)}× more, ${theirs.runs} run${theirs.runs > 1 ? 's' : ''}); bound ${int(bound)}`,
        goal: atLargest ? `≤ ${int(bound)} and ≥ ${GOALS.timesFewer}× fewer` : `≤ ${int(bound)}`,
        met: met ? 'yes' : `NO: ${int(mine.max)} requests, ${int(fewer)}× fewer`
      })
    }
    if (n === plan.sizes[0]) {
      notes.push(
        `Connecting a cohort (testAuthentication and createAudience, once per cohort) took ${ours[0].connect} requests; they are not in the sync counts.`
      )
    }
  }
  return { rows, notes }
}

async function cpuRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  progress(`CPU: ${plan.pairs} pairs of ${int(EVENTS_PER_ARM)} events`)
  const pairs = await cpuPairs(definition, sandbox, plan.pairs)
  const sync = summarize(pairs.map((p) => p.syncCohort))
  const noOp = summarize(pairs.map((p) => p.noOp))
  const ratio = summarize(pairs.map((p) => p.syncCohort / p.noOp))
  const per = `1,000 (of ${int(EVENTS_PER_ARM)} an arm)`
  const rows: Row[] = [
    {
      figure: 'CPU per 1,000 events, syncCohort (ms)',
      n: per,
      summary: sync,
      format: fixed(1),
      beside: `no-op action ${noOp.median.toFixed(1)} ms (${spread(noOp, fixed(1))})`,
      goal: '',
      met: ''
    },
    {
      figure: 'CPU ratio, syncCohort ÷ no-op (pair by pair)',
      n: per,
      summary: ratio,
      format: fixed(2),
      beside: 'sandbox in another process, no latency',
      goal: `≤ ${GOALS.cpuRatio}`,
      met: atMost(ratio.median, GOALS.cpuRatio, fixed(2))
    }
  ]
  return rows
}

async function throughputRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  const contacts = plan.throughputContacts
  const limit = limitMs(contacts)
  const lost = (r: ThroughputRun) => r.nonRetryable + r.unsettled
  const runs = await repeat(plan.runs, `Throughput, ${int(contacts)} contacts`, (run) =>
    throughputRun(definition, sandbox, run, contacts)
  )
  const wall = summarize(runs.map((r) => r.wallMs / 1000))
  const ratio = summarize(runs.map((r) => r.wallMs / limit))
  const rows: Row[] = [
    {
      figure: `Throughput, wall time (s), ${LATENCY_MS} ms latency, 10 connections`,
      n: int(contacts),
      summary: wall,
      format: fixed(2),
      beside: `limit ${(limit / 1000).toFixed(2)} s = ${int(minimumRequests(contacts))} requests ÷ 10 × ${LATENCY_MS} ms`,
      goal: '',
      met: ''
    },
    {
      figure: 'Throughput, ratio to the limit',
      n: int(contacts),
      summary: ratio,
      format: fixed(2),
      beside: `${HOST_WORKERS} host workers, batches of 1,000; ${int(summarize(runs.map((r) => r.requests)).median)} requests, ${int(Math.max(...runs.map((r) => r.throttled)))} throttled, ${int(runs.reduce((sum, r) => sum + lost(r), 0))} events lost`,
      goal: `≤ ${GOALS.throughputRatio}`,
      met: atMost(ratio.median, GOALS.throughputRatio, fixed(2))
    }
  ]

  // With fewer connections free than the plugin's own cap, the sandbox throttles, and every 429 must end up landed.
  // Each run gets a sandbox of its own, so the plugin starts it without what an earlier run taught it about the cap.
  const throttledRuns = await repeat(
    plan.runs,
    `Throughput, ${SHARED_ACCOUNT_CONNECTIONS} connections free`,
    async (run) => {
      const shared = await startSandboxProcess({ maxConnections: SHARED_ACCOUNT_CONNECTIONS })
      try {
        return await throughputRun(destinationFor(shared.endpoints), shared, run, contacts)
      } finally {
        await shared.stop()
      }
    }
  )
  const throttled = summarize(throttledRuns.map((r) => r.throttled))
  const lostEvents = throttledRuns.reduce((sum, r) => sum + lost(r), 0)
  const resent = summarize(throttledRuns.map((r) => r.resent))
  rows.push({
    figure: `Throughput, wall time (s), only ${SHARED_ACCOUNT_CONNECTIONS} of 10 connections free`,
    n: int(contacts),
    summary: summarize(throttledRuns.map((r) => r.wallMs / 1000)),
    format: fixed(2),
    beside: `${int(throttled.median)} requests throttled by the cap (${spread(throttled, int)}), ${int(resent.median)} events resent after a back-off, ${int(lostEvents)} lost or final`,
    goal: 'no cap 429 lost',
    met:
      throttled.min === 0
        ? 'NO: the cap was never hit, so nothing was shown'
        : lostEvents === 0
          ? 'yes'
          : `NO: ${int(lostEvents)} events lost`
  })
  return rows
}

async function memoryRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  const memory = await repeat(plan.runs, `Memory, one batch of ${int(MEMORY_BATCH)}`, (run) =>
    memoryRun(definition, sandbox, run)
  )
  const before = summarize(memory.map((m) => m.beforeMb))
  const row: Row = {
    figure: 'Peak RSS of the host process, one batch (MB)',
    n: int(MEMORY_BATCH),
    summary: summarize(memory.map((m) => m.peakMb)),
    format: int,
    beside: `${int(before.median)} MB before the batch (plugin loaded, warmed up)`,
    goal: '',
    met: ''
  }
  return [row]
}

async function measure(plan: Plan): Promise<{ rows: Row[]; notes: string[] }> {
  const sandbox = await startSandboxProcess()
  try {
    const definition = destinationFor(sandbox.endpoints)
    const requests = await requestRows(plan, definition, sandbox)
    const rows = [
      ...requests.rows,
      ...(await cpuRows(plan, definition, sandbox)),
      ...(await throughputRows(plan, definition, sandbox)),
      ...(await memoryRows(plan, definition, sandbox)),
      ...(await commandRows(plan))
    ]
    return { rows, notes: requests.notes }
  } finally {
    await sandbox.stop()
  }
}

function table(rows: Row[]): string {
  const header = ['Figure', 'N', 'Median', 'Min–max', 'Runs', 'Beside it', 'Goal', 'Met']
  const lines = rows.map((r) => [
    r.figure,
    r.n,
    r.format(r.summary.median),
    spread(r.summary, r.format),
    String(r.summary.runs),
    r.beside,
    r.goal,
    r.met
  ])
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n')
}

async function main() {
  const options = new Command('bench')
    .description('Measure request economy, CPU, throughput and memory against the local sandbox.')
    .option('--quick', 'smaller sizes and fewer runs, to try the bench itself (writes no results unless --out)')
    .option('--out <file>', 'where to write the results', undefined)
    .parse()
    .opts<{ quick?: boolean; out?: string }>()
  const plan = options.quick ? QUICK : FULL
  const out = options.out ?? (options.quick ? undefined : join(__dirname, 'RESULTS.md'))
  const started = Date.now()
  const { rows, notes } = await measure(plan)
  const seconds = ((Date.now() - started) / 1000).toFixed(0)
  const heading = `Machine: ${machine()}\nDate: ${new Date().toISOString()}\nBench wall time: ${seconds} s`
  const report = `${heading}\n\n${table(rows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n`
  process.stdout.write(report)
  if (out)
    await writeFile(out, `# Benchmark results\n\nWritten by \`npm run bench\`; do not edit by hand.\n\n${report}`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
