/**
 * `npm run bench`: request economy, CPU overhead, throughput against Mailchimp's limit and memory, against the sandbox
 * in a process of its own. Prints one table and writes bench/RESULTS.md. Never part of `npm test`: timings on a shared
 * machine are for reading side by side, not for passing or failing.
 */
import { writeFile } from 'fs/promises'
import { join } from 'path'
import { Command } from 'commander'
import { cpuPairs, EVENTS_PER_ARM } from './cpu'
import { destinationFor } from './host'
import { MEMORY_BATCH, memoryRun } from './memory'
import { baselineFor, oursFor, requestBound } from './requests'
import type { RequestCounts } from './requests'
import { startSandboxProcess } from './sandbox-process'
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
  pairs: 7,
  throughputContacts: THROUGHPUT_CONTACTS
}
const QUICK: Plan = { sizes: [1_000, 10_000], runs: 2, baselineRunsAtLargest: 1, pairs: 3, throughputContacts: 10_000 }

const GOALS = { timesFewer: 300, cpuRatio: 1.3, throughputRatio: 1.5 }

interface Row {
  figure: string
  n: string
  summary: Summary
  format: (value: number) => string
  beside: string
  goal: string
  met: boolean | undefined
}

const int = (value: number) => Math.round(value).toLocaleString('en-US')
const fixed = (digits: number) => (value: number) => value.toFixed(digits)
const spread = (s: Summary, format: (value: number) => string) =>
  s.min === s.max ? format(s.min) : `${format(s.min)}–${format(s.max)}`
const progress = (line: string) => process.stderr.write(`${line}\n`)

async function repeat<T>(runs: number, label: string, work: (run: number) => Promise<T>): Promise<T[]> {
  const results: T[] = []
  for (let run = 0; run < runs; run++) {
    progress(`${label}: run ${run + 1} of ${runs}`)
    results.push(await work(run))
  }
  return results
}

async function measure(plan: Plan): Promise<{ rows: Row[]; notes: string[] }> {
  const sandbox = await startSandboxProcess()
  const rows: Row[] = []
  const notes: string[] = []
  try {
    const definition = destinationFor(sandbox.endpoints)
    const largest = Math.max(...plan.sizes)

    for (const n of plan.sizes) {
      const ours = await repeat(plan.runs, `Requests, ours, N = ${int(n)}`, () => oursFor(definition, sandbox, n))
      const baselineRuns = n === largest ? plan.baselineRunsAtLargest : plan.runs
      const baseline = await repeat(baselineRuns, `Requests, per contact, N = ${int(n)}`, () => baselineFor(sandbox, n))
      for (const phase of ['first', 'delta'] as const) {
        const events = phase === 'first' ? n : 2 * Math.ceil(n / 10)
        const mine = summarize(ours.map((r: RequestCounts) => r[phase]))
        const theirs = summarize(baseline.map((r) => r[phase]))
        const fewer = theirs.median / mine.median
        const bound = requestBound(events)
        const atLargest = phase === 'first' && n === largest && largest >= 100_000
        rows.push({
          figure: phase === 'first' ? 'Requests, first sync' : 'Requests, delta (10% leave, 10% join)',
          n: int(events),
          summary: mine,
          format: int,
          beside: `per contact ${int(theirs.median)} (${int(fewer)}× more, ${theirs.runs} run${theirs.runs > 1 ? 's' : ''}); bound ${int(bound)}`,
          goal: atLargest ? `≤ ${int(bound)} and ≥ ${GOALS.timesFewer}× fewer` : `≤ ${int(bound)}`,
          met: mine.max <= bound && (!atLargest || fewer >= GOALS.timesFewer)
        })
      }
      if (n === plan.sizes[0]) {
        notes.push(
          `Connecting a cohort (testAuthentication and createAudience, once per cohort) took ${ours[0].connect} requests; they are not in the sync counts.`
        )
      }
    }

    const pairs = await repeat(1, `CPU, ${plan.pairs} pairs of ${int(EVENTS_PER_ARM)} events`, () =>
      cpuPairs(definition, sandbox, plan.pairs)
    ).then((all) => all[0])
    const sync = summarize(pairs.map((p) => p.syncCohort))
    const noOp = summarize(pairs.map((p) => p.noOp))
    const ratio = summarize(pairs.map((p) => p.syncCohort / p.noOp))
    rows.push({
      figure: 'CPU per 1,000 events, syncCohort (ms)',
      n: '1,000',
      summary: sync,
      format: fixed(1),
      beside: `no-op action ${noOp.median.toFixed(1)} ms (${spread(noOp, fixed(1))})`,
      goal: '',
      met: undefined
    })
    rows.push({
      figure: 'CPU ratio, syncCohort ÷ no-op (pair by pair)',
      n: '1,000',
      summary: ratio,
      format: fixed(2),
      beside: 'sandbox in another process, no latency',
      goal: `≤ ${GOALS.cpuRatio}`,
      met: ratio.median <= GOALS.cpuRatio
    })

    const contacts = plan.throughputContacts
    const limit = limitMs(contacts)
    const runs: ThroughputRun[] = await repeat(plan.runs, `Throughput, ${int(contacts)} contacts`, (run) =>
      throughputRun(definition, sandbox, run, contacts)
    )
    const wall = summarize(runs.map((r) => r.wallMs / 1000))
    const throughputRatio = summarize(runs.map((r) => r.wallMs / limit))
    const lost = runs.reduce((sum, r) => sum + r.nonRetryable + Object.values(r.failed).reduce((a, b) => a + b, 0), 0)
    const requests = summarize(runs.map((r) => r.requests))
    const throttled = summarize(runs.map((r) => r.throttled))
    rows.push({
      figure: `Throughput, wall time (s), ${LATENCY_MS} ms latency, 10 connections`,
      n: int(contacts),
      summary: wall,
      format: fixed(2),
      beside: `limit ${(limit / 1000).toFixed(2)} s = ${int(minimumRequests(contacts))} requests ÷ 10 × ${LATENCY_MS} ms`,
      goal: '',
      met: undefined
    })
    rows.push({
      figure: 'Throughput, ratio to the limit',
      n: int(contacts),
      summary: throughputRatio,
      format: fixed(2),
      beside: `${HOST_WORKERS} host workers, batches of 1,000; ${int(requests.median)} requests, ${int(throttled.max)} throttled at most, ${lost} events lost or non-retryable`,
      goal: `≤ ${GOALS.throughputRatio}, no cap 429 lost`,
      met: throughputRatio.median <= GOALS.throughputRatio && lost === 0
    })

    const memory = await repeat(plan.runs, `Memory, one batch of ${int(MEMORY_BATCH)}`, (run) =>
      memoryRun(definition, sandbox, run)
    )
    const before = summarize(memory.map((m) => m.beforeMb))
    rows.push({
      figure: 'Peak RSS of the host process, one batch (MB)',
      n: int(MEMORY_BATCH),
      summary: summarize(memory.map((m) => m.peakMb)),
      format: int,
      beside: `${int(before.median)} MB before the batch (plugin loaded, warmed up)`,
      goal: '',
      met: undefined
    })
  } finally {
    await sandbox.stop()
  }
  return { rows, notes }
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
    r.met === undefined ? '' : r.met ? 'yes' : 'NO'
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
