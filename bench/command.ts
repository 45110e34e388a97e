/**
 * The command at scale: `mailchimp-cohort sync --sandbox <url>` as a process of its own, under a 256 MB heap, on a
 * generated file of N rows (1,000,000 in the full bench) into the sandbox in another process at 50 ms a request and
 * Mailchimp's 10 connections. Wall time (the whole command: both reads of the file, the checks, the send), its ratio
 * to the limit (the requests the sandbox counted, ten at a time, 50 ms each), and the command's peak resident set.
 */
import { execFile } from 'child_process'
import { mkdtemp, readFile, rm } from 'fs/promises'
import { tmpdir } from 'os'
import { join } from 'path'
import { promisify } from 'util'
import { cohortLine, writeCohort } from '../scripts/generate-cohort'
import { COHORT, MAILCHIMP_CONNECTIONS } from './host'
import { expectTagHolds } from './requests'
import { startSandboxProcess } from './sandbox-process'
import { summarize } from './stats'
import type { Row } from './stats'
/** The setting for the command's run: 50 ms a request. */
const LATENCY_MS = 50

interface CommandRun {
  wallMs: number
  requests: number
  throttled: number
  peakMb: number
}

const HEAP_MB = 256
const RSS_GOAL_MB = 400
const COMMAND = join(__dirname, '..', 'src', 'cli', 'mailchimp-cohort.ts')
/** Writes the process's peak resident set (kB) to $BENCH_RSS_FILE as it exits: a child's rusage, from inside. */
const RSS_ON_EXIT = `data:text/javascript,${encodeURIComponent(
  "import { writeFileSync } from 'fs'; process.on('exit', () => writeFileSync(process.env.BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)))"
)}`

const int = (value: number) => Math.round(value).toLocaleString('en-US')
const fixed = (digits: number) => (value: number) => value.toFixed(digits)
const address = (line: string) => line.slice(0, line.indexOf(','))

/** The command moves ten times the throughput run's contacts: 1,000,000 in the full bench, 100,000 with --quick. */
export async function commandRows(plan: { throughputContacts: number }): Promise<Row[]> {
  const rows = plan.throughputContacts * 10
  process.stderr.write(`Command: ${int(rows)} rows, one run\n`)
  const run = await commandRun(rows)
  const limitMs = (run.requests / MAILCHIMP_CONNECTIONS) * LATENCY_MS
  const n = int(rows)
  return [
    {
      figure: `Command, wall time (s), ${LATENCY_MS} ms latency, 10 connections`,
      n,
      summary: summarize([run.wallMs / 1000]),
      format: fixed(1),
      beside: `limit ${(limitMs / 1000).toFixed(1)} s = ${int(run.requests)} requests ÷ 10 × ${LATENCY_MS} ms; ${int(run.throttled)} throttled`,
      goal: '',
      met: ''
    },
    {
      figure: 'Command, ratio to the limit',
      n,
      summary: summarize([run.wallMs / limitMs]),
      format: fixed(2),
      beside: 'one process reads the file twice and sends; the sandbox shares the two cores',
      goal: '',
      met: ''
    },
    {
      figure: `Command, peak RSS (MB), --max-old-space-size=${HEAP_MB}`,
      n,
      summary: summarize([run.peakMb]),
      format: int,
      beside: 'the command run from source with tsx, which adds its loader',
      goal: `≤ ${RSS_GOAL_MB}`,
      met: run.peakMb <= RSS_GOAL_MB ? 'yes' : `NO: ${int(run.peakMb)} MB`
    }
  ]
}

async function commandRun(rows: number): Promise<CommandRun> {
  const dir = await mkdtemp(join(tmpdir(), 'mailchimp-cohort-bench-'))
  const sandbox = await startSandboxProcess()
  try {
    const file = join(dir, 'cohort.csv')
    const rssFile = join(dir, 'rss')
    await writeCohort(file, rows, 'cmd')
    const audienceId = await sandbox.addAudience('command')
    const url = new URL(sandbox.endpoints.metadataUrl).origin
    await sandbox.setLatency(LATENCY_MS)
    await sandbox.resetCounters()
    const started = performance.now()
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        `--max-old-space-size=${HEAP_MB}`,
        '--import',
        'tsx',
        '--import',
        RSS_ON_EXIT,
        COMMAND,
        'sync',
        '--sandbox',
        url,
        '--audience',
        audienceId,
        '--file',
        file,
        '--cohort',
        COHORT,
        '--json'
      ],
      { env: { ...process.env, BENCH_RSS_FILE: rssFile }, maxBuffer: 16 * 1024 * 1024 }
    )
    const wallMs = performance.now() - started
    await sandbox.setLatency(0)
    const report = JSON.parse(stdout) as { exit_code: number; landed: number }
    if (report.exit_code !== 0 || report.landed !== rows) {
      throw new Error(`The command landed ${report.landed} of ${rows} rows (exit ${report.exit_code}).`)
    }
    const counters = await sandbox.counters()
    const expected = Array.from({ length: rows }, (_, i) => address(cohortLine(i, 'cmd')))
    await expectTagHolds(sandbox, audienceId, COHORT, expected)
    const peakKb = Number(await readFile(rssFile, 'utf8'))
    return { wallMs, requests: counters.total, throttled: counters.throttled, peakMb: peakKb / 1024 }
  } finally {
    await sandbox.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
