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
import { ARMS, cpuRounds, EVENTS_PER_ARM } from './cpu'
import type { Arm } from './cpu'
import { destinationFor } from './host'
import { MEMORY_BATCH, memoryRun } from './memory'
import { minimalDestination } from './minimal'
import { baselineFor, cohortOf, oursFor, requestBound } from './requests'
import type { RequestCounts } from './requests'
import { startSandboxProcess } from './sandbox-process'
import type { SandboxProcess } from './sandbox-process'
import { machine, summarize } from './stats'
import type { Row, Summary } from './stats'
import { HOST_WORKERS, limitMs, minimumRequests, THROUGHPUT_CONTACTS, throughputRun } from './throughput'
import type { ThroughputRun } from './throughput'

interface Plan {
  sizes: number[]
  runs: number
  /** Per-contact baseline runs at the largest N: it costs 200,000 requests, and its count never varies. */
  baselineRunsAtLargest: number
  /** CPU rounds: each measures the three arms, each arm first in turn. */
  rounds: number
  throughputContacts: number
}

const FULL: Plan = {
  sizes: [1_000, 10_000, 100_000],
  runs: 3,
  baselineRunsAtLargest: 1,
  rounds: 31,
  throughputContacts: THROUGHPUT_CONTACTS
}
const QUICK: Plan = { sizes: [1_000, 10_000], runs: 2, baselineRunsAtLargest: 1, rounds: 3, throughputContacts: 10_000 }

/** The goals of issue 13: syncCohort beside the minimal plugin, and beside Mailchimp's limit. */
const GOALS = { timesFewer: 300, cpuRatio: 1.05, rssRatio: 1.2, wallVsMinimal: 1.1, wallVsLimit: 1.15 }
const LATENCIES = { fast: 50, slow: 500 } as const
const ANSWERS = ['lean', 'mailchimp'] as const
const ANSWER_WORDS = { lean: 'lean answers', mailchimp: 'Mailchimp-sized answers' } as const
/** As if the account's other integrations held 4 of Mailchimp's 10 connections: the cap is hit, and must cost nothing. */
const SHARED_ACCOUNT_CONNECTIONS = 6

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

const ARM_WORDS: Record<Arm, string> = { syncCohort: 'syncCohort', minimal: 'minimal plugin', noOp: 'no-op action' }

async function cpuRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  const rows: Row[] = []
  const per = `1,000 (of ${int(EVENTS_PER_ARM)} an arm)`
  for (const answers of ANSWERS) {
    progress(`CPU, ${ANSWER_WORDS[answers]}: ${plan.rounds} rounds of ${int(EVENTS_PER_ARM)} events an arm`)
    const rounds = await cpuRounds(definition, sandbox, plan.rounds, answers)
    const arm = (name: Arm) => summarize(rounds.map((r) => r[name]))
    const ratio = summarize(rounds.map((r) => r.syncCohort / r.minimal))
    rows.push(
      {
        figure: `CPU per 1,000 events (ms), ${ANSWER_WORDS[answers]}`,
        n: per,
        summary: arm('syncCohort'),
        format: fixed(1),
        beside: ARMS.filter((name) => name !== 'syncCohort')
          .map((name) => `${ARM_WORDS[name]} ${arm(name).median.toFixed(1)} (${spread(arm(name), fixed(1))})`)
          .join('; '),
        goal: '',
        met: ''
      },
      {
        figure: `CPU ratio, syncCohort ÷ minimal plugin, ${ANSWER_WORDS[answers]} (round by round)`,
        n: per,
        summary: ratio,
        format: fixed(2),
        beside: 'a host process of its own; the sandbox in another, no latency',
        goal: `≤ ${GOALS.cpuRatio}`,
        met: atMost(ratio.median, GOALS.cpuRatio, fixed(2))
      }
    )
  }
  return rows
}

async function wallRows(plan: Plan, definition: DestinationDefinition<Settings>, sandbox: SandboxProcess) {
  const contacts = plan.throughputContacts
  const minimal = minimalDestination(definition, sandbox.endpoints)
  const lost = (r: ThroughputRun) => r.nonRetryable + r.unsettled
  const rows: Row[] = []
  for (const latencyMs of [LATENCIES.fast, LATENCIES.slow]) {
    const limit = limitMs(contacts, latencyMs)
    // The two plugins take turns, each going first in every other run.
    const pairs = await repeat(plan.runs, `Wall time, ${int(contacts)} contacts at ${latencyMs} ms`, async (run) => {
      const ours = () => throughputRun(definition, sandbox, { label: `ours ${latencyMs} ${run}`, contacts, latencyMs })
      const floor = () =>
        throughputRun(minimal, sandbox, {
          label: `minimal ${latencyMs} ${run}`,
          contacts,
          latencyMs,
          tagDefinition: definition
        })
      if (run % 2 === 0) {
        const syncCohort = await ours()
        return { syncCohort, minimal: await floor() }
      }
      const floorRun = await floor()
      return { syncCohort: await ours(), minimal: floorRun }
    })
    const wall = (arm: 'syncCohort' | 'minimal') => summarize(pairs.map((p) => p[arm].wallMs / 1000))
    const seconds = fixed(2)
    const ours = pairs.map((p) => p.syncCohort)
    const detail = `${int(summarize(ours.map((r) => r.requests)).median)} requests, at most ${int(Math.max(...ours.map((r) => r.peakInFlight)))} in flight, ${int(Math.max(...ours.map((r) => r.throttled)))} throttled, ${int(ours.reduce((sum, r) => sum + lost(r), 0))} events lost`
    rows.push({
      figure: `Wall time (s), ${latencyMs} ms a request, 10 connections`,
      n: int(contacts),
      summary: wall('syncCohort'),
      format: seconds,
      beside: `minimal plugin ${wall('minimal').median.toFixed(2)} (${spread(wall('minimal'), seconds)}); limit ${(limit / 1000).toFixed(2)} = ${int(minimumRequests(contacts))} requests ÷ 10 × ${latencyMs} ms; ${HOST_WORKERS} host workers, batches of 1,000; ${detail}`,
      goal: '',
      met: ''
    })
    if (latencyMs === LATENCIES.fast) {
      const ratio = summarize(pairs.map((p) => p.syncCohort.wallMs / p.minimal.wallMs))
      rows.push({
        figure: `Wall ratio, syncCohort ÷ minimal plugin, ${latencyMs} ms (run by run)`,
        n: int(contacts),
        summary: ratio,
        format: fixed(2),
        beside: 'both allowed 10 connections',
        goal: `≤ ${GOALS.wallVsMinimal}`,
        met: atMost(ratio.median, GOALS.wallVsMinimal, fixed(2))
      })
    } else {
      const ratio = summarize(ours.map((r) => r.wallMs / limit))
      rows.push({
        figure: `Wall ratio, syncCohort ÷ the 10-connection limit, ${latencyMs} ms`,
        n: int(contacts),
        summary: ratio,
        format: fixed(2),
        beside: `minimal plugin ${summarize(pairs.map((p) => p.minimal.wallMs / limit)).median.toFixed(2)}`,
        goal: `≤ ${GOALS.wallVsLimit}`,
        met: atMost(ratio.median, GOALS.wallVsLimit, fixed(2))
      })
    }
  }

  // With fewer connections free than the plugin's starting share, the sandbox throttles, and every 429 must end up
  // landed. Each run gets a sandbox of its own, so the plugin starts without what an earlier run taught it.
  const throttledRuns = await repeat(
    plan.runs,
    `Wall time, ${SHARED_ACCOUNT_CONNECTIONS} connections free`,
    async (run) => {
      const shared = await startSandboxProcess({ maxConnections: SHARED_ACCOUNT_CONNECTIONS })
      try {
        const latencyMs = LATENCIES.fast
        return await throughputRun(destinationFor(shared.endpoints), shared, {
          label: `shared ${run}`,
          contacts,
          latencyMs
        })
      } finally {
        await shared.stop()
      }
    }
  )
  const throttled = summarize(throttledRuns.map((r) => r.throttled))
  const lostEvents = throttledRuns.reduce((sum, r) => sum + lost(r), 0)
  const resent = summarize(throttledRuns.map((r) => r.resent))
  rows.push({
    figure: `Wall time (s), ${LATENCIES.fast} ms, only ${SHARED_ACCOUNT_CONNECTIONS} of 10 connections free`,
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
  const rows: Row[] = []
  for (const answers of ANSWERS) {
    const growth: Record<Arm, Summary> = {} as Record<Arm, Summary>
    const runs: Record<Arm, number[]> = { syncCohort: [], minimal: [], noOp: [] }
    const before: number[] = []
    await repeat(plan.runs, `Memory, one batch of ${int(MEMORY_BATCH)}, ${ANSWER_WORDS[answers]}`, async (run) => {
      for (const arm of ARMS.map((_, i) => ARMS[(i + run) % ARMS.length])) {
        const result = await memoryRun(definition, sandbox, arm, answers, run)
        runs[arm].push(result.growthMb)
        if (arm === 'syncCohort') before.push(result.beforeMb)
      }
    })
    for (const arm of ARMS) growth[arm] = summarize(runs[arm])
    const ratio = summarize(runs.syncCohort.map((value, i) => value / runs.minimal[i]))
    rows.push({
      figure: `RSS growth, one batch (MB), ${ANSWER_WORDS[answers]}`,
      n: int(MEMORY_BATCH),
      summary: growth.syncCohort,
      format: int,
      beside: `minimal plugin ${int(growth.minimal.median)}, no-op action ${int(growth.noOp.median)}; ${int(summarize(before).median)} MB before the batch`,
      goal: '',
      met: ''
    })
    rows.push({
      figure: `RSS growth ratio, syncCohort ÷ minimal plugin, ${ANSWER_WORDS[answers]}`,
      n: int(MEMORY_BATCH),
      summary: ratio,
      format: fixed(2),
      beside: 'the host drops actions-core’s kept responses after each batch',
      goal: answers === 'mailchimp' ? `≤ ${GOALS.rssRatio}` : '',
      met: answers === 'mailchimp' ? atMost(ratio.median, GOALS.rssRatio, fixed(2)) : ''
    })
  }
  return rows
}

async function measure(plan: Plan): Promise<{ rows: Row[]; notes: string[] }> {
  const sandbox = await startSandboxProcess()
  try {
    const definition = destinationFor(sandbox.endpoints)
    const requests = await requestRows(plan, definition, sandbox)
    const rows = [
      ...requests.rows,
      ...(await cpuRows(plan, definition, sandbox)),
      ...(await memoryRows(plan, definition, sandbox)),
      ...(await wallRows(plan, definition, sandbox)),
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
