import { readFileSync, statSync } from 'fs'
import { join } from 'path'
import { Command, CommanderError, InvalidArgumentError } from 'commander'
import { z } from 'zod'
import { mailchimpCohorts } from '../index'
import type { StatusIfNew } from '../index'
import { CohortFile } from './cohort-file'
import { syncCohort } from './cohort-sync'
import { EXIT, TransientError, UsageError } from './errors'
import { FailedRows } from './failed-rows'
import type { Interrupt } from './interrupt'
import { checkCombinations, decimalInteger, once } from './options'
import { Progress } from './progress'
import { exitCodeOf, formatReport, jsonReport, landed } from './report'
import type { ReportContext } from './report'
import { targetFor } from './target'
import type { SandboxHook } from './target'
import { inCommandWords } from './words'
import { registerProbe } from './probe'
import type { ProbeIo } from './probe'

const STATUSES: StatusIfNew[] = ['audience_default', 'subscribed', 'pending', 'transactional', 'skip']

export interface Io extends Pick<ProbeIo, 'stopProbe' | 'runId'> {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** The terminal the progress bar is drawn on (stderr when it is one); none, no bar. */
  terminal?: NodeJS.WritableStream
  /** Tests point `--sandbox` at a sandbox of their own instead of a fresh one. */
  sandbox?: SandboxHook
  retryDelayMs?: number
  /** Signals: the first stops the run (partial report, exit 130), the second ends the process. */
  interrupt?: Interrupt
  /** After a stop, how long batches in flight may take; default 10 s. */
  graceMs?: number
}

interface SyncOptions {
  file: string
  emailColumn: string
  cohort: string
  removeFile?: string
  membershipColumn?: string
  audience?: string
  statusIfNew: StatusIfNew
  mirror?: boolean
  maxUntag: number
  force?: boolean
  ignoreBadRows?: boolean
  mergeField: Record<string, string>
  failedRows?: string
  sandbox?: string | boolean
  dryRun?: boolean
  json?: boolean
}

const GRACE_MS = 10_000
/**
 * Batches sent side by side: one request in flight each (batch subscribe, then the tag call), as many as Mailchimp's
 * 10 connections; the destination's share of the account (8, growing to 10) keeps the requests within what is free.
 */
const PARALLEL_BATCHES = 10

/** The package's version, read from its package.json (beside dist/ and src/ alike). */
function version(): string {
  try {
    const manifest = z
      .object({ version: z.string() })
      .parse(JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')))
    return manifest.version
  } catch {
    return 'unknown'
  }
}

/** Runs `mailchimp-cohort <args>` and resolves to its exit code (see EXIT). */
export async function run(args: string[], io: Io): Promise<number> {
  const json = args.includes('--json')
  const fail = (code: number, message: string): number => {
    io.stderr(`mailchimp-cohort: ${message}\n`)
    if (json) io.stdout(`${JSON.stringify({ error: message, exit_code: code }, null, 2)}\n`)
    return code
  }
  let exitCode: number = EXIT.ok
  const seen = new Set<string>()
  const program = new Command('mailchimp-cohort')
    .description('Put a cohort into Mailchimp as a tag, once, from a CSV or JSON Lines file.')
    .version(version(), '--version', 'print the version')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()

  program
    .command('sync')
    .description(
      'Tag every contact of the file with the cohort, creating contacts missing from the audience, and remove the tag from leavers. Credentials come from MAILCHIMP_ACCESS_TOKEN (OAuth) or MAILCHIMP_API_KEY (ends with its data center, e.g. -us6); without them, --sandbox tries the file against a local sandbox.'
    )
    .requiredOption(
      '--file <path>',
      'contacts in the cohort: CSV with a header row, or JSON Lines (.jsonl)',
      once(seen, '--file', String)
    )
    .option(
      '--email-column <name>',
      'the column (or JSON key) holding email addresses',
      once(seen, '--email-column', String),
      'email'
    )
    .requiredOption(
      '--cohort <name>',
      'the cohort, which names the Mailchimp tag (fewer than 88 characters)',
      once(seen, '--cohort', String)
    )
    .option(
      '--remove-file <path>',
      'contacts who left the cohort: the tag is removed from them',
      once(seen, '--remove-file', String)
    )
    .option(
      '--membership-column <name>',
      'a true/false column of --file telling members (true) from leavers (false)',
      once(seen, '--membership-column', String)
    )
    .option(
      '--audience <id>',
      'the Mailchimp audience (list) ID; required with credentials',
      once(seen, '--audience', String)
    )
    .option(
      '--status-if-new <status>',
      `status for contacts not yet in the audience, one of ${STATUSES.join(', ')}; skip never creates any`,
      once(seen, '--status-if-new', (value) => {
        if (!STATUSES.includes(value as StatusIfNew)) {
          throw new InvalidArgumentError(`Allowed choices are ${STATUSES.join(', ')}.`)
        }
        return value as StatusIfNew
      }),
      'audience_default'
    )
    .option(
      '--mirror',
      'full resync: also remove the tag from contacts who carry it but are not in --file (read from Mailchimp first)'
    )
    .option(
      '--max-untag <percent>',
      'with --mirror, refuse to untag more than this share of the tag (0 to 100)',
      once(seen, '--max-untag', decimalInteger(0, 100)),
      50
    )
    .option('--force', 'with --mirror, untag however many contacts the file leaves out')
    .option('--ignore-bad-rows', 'with --mirror, go ahead although some rows have no usable email address')
    .option(
      '--merge-field <TAG=column>',
      'write a column into a merge field, e.g. FNAME=first_name (repeatable)',
      (value: string, previous: Record<string, string>) => {
        const match = /^\s*([A-Za-z0-9_]+)\s*=\s*(.+?)\s*$/.exec(value)
        if (!match) throw new InvalidArgumentError('use TAG=column, such as FNAME=first_name')
        const tag = match[1].toUpperCase()
        if (tag in previous) throw new InvalidArgumentError(`${tag} is given twice: give each merge field once.`)
        return { ...previous, [tag]: match[2] }
      },
      {}
    )
    .option(
      '--failed-rows <path>',
      'write the rows that did not land to this file, in the input format, ready to sync again',
      once(seen, '--failed-rows', String)
    )
    .option(
      '--sandbox [url]',
      'sync into a local sandbox instead of Mailchimp: a fresh one, or the running `npm run sandbox` at this URL',
      once(seen, '--sandbox', String)
    )
    .option('--dry-run', 'read the files and check the connection, then print the plan and counts; change nothing')
    .option('--json', 'print a machine-readable report on stdout')
    .action(async (options: SyncOptions, command: Command) => {
      exitCode = await sync(options, command, io)
    })

  registerProbe(program, io, (code) => (exitCode = code))

  try {
    await program.parseAsync(args, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.ok
      if (json) io.stdout(`${JSON.stringify({ error: error.message, exit_code: EXIT.usage }, null, 2)}\n`)
      return EXIT.usage
    }
    if (error instanceof UsageError) return fail(EXIT.usage, inCommandWords(error.message))
    if (error instanceof TransientError) return fail(EXIT.someFailed, inCommandWords(error.message))
    return fail(EXIT.internal, `unexpected failure: ${error instanceof Error ? error.stack : String(error)}`)
  }
  return exitCode
}

async function sync(options: SyncOptions, command: Command, io: Io): Promise<number> {
  checkCombinations(options, command)
  const file = new CohortFile(options.file, {
    emailColumn: options.emailColumn,
    membershipColumn: options.membershipColumn,
    mergeColumns: options.mergeField,
    defaultMembership: true
  })
  const removeFile = options.removeFile
    ? new CohortFile(options.removeFile, { emailColumn: options.emailColumn, defaultMembership: false })
    : undefined
  const failedRows = options.failedRows ? FailedRows.create(options.failedRows, file, removeFile) : undefined
  const target = await targetFor({ sandbox: options.sandbox, audience: options.audience }, io.env, io.sandbox)
  if (target.note) io.stderr(`${target.note}\n`)
  const words = (message: string) =>
    inCommandWords(message, target.kind === 'sandbox' ? { fakeDomains: target.fakeDomains ?? [] } : undefined)

  const sources = removeFile ? [file, removeFile] : [file]
  const sizes = sources.map((source) => sizeOf(source.path))
  const progress = new Progress(options.json ? undefined : io.terminal)
  const graceMs = io.graceMs ?? GRACE_MS
  const stopping = () => {
    progress.stop()
    io.stderr(
      `Stopping: no new batch is sent; waiting up to ${Math.round(graceMs / 1000)} s for those in flight. Press Ctrl-C again to quit at once.\n`
    )
  }
  const unhook = io.interrupt?.onExit(() => progress.stop())
  io.interrupt?.signal.addEventListener('abort', stopping, { once: true })
  try {
    const before = await target.requests?.()
    const read = sources.map(() => 0)
    const summary = await syncCohort({
      definition: mailchimpCohorts(target.options),
      token: target.token,
      audienceId: target.audienceId,
      cohort: options.cohort,
      emailColumn: options.emailColumn,
      sources,
      statusIfNew: options.statusIfNew,
      mergeTags: Object.keys(options.mergeField),
      dryRun: options.dryRun,
      mirror: options.mirror
        ? {
            options: target.options,
            maxUntagShare: options.maxUntag / 100,
            force: options.force ?? false,
            ignoreBadRows: options.ignoreBadRows ?? false
          }
        : undefined,
      parallelBatches: PARALLEL_BATCHES,
      retryDelayMs: io.retryDelayMs,
      stop: io.interrupt?.signal,
      graceMs,
      on: {
        outcome: (outcome, entry) => {
          if (failedRows && !landed(outcome)) failedRows.add(entry)
        },
        reading: (source, bytes) => {
          read[source] = bytes
          if (io.interrupt?.signal.aborted) return
          progress.reading(
            read.reduce((a, b) => a + b, 0),
            sizes.reduce((a, b) => a + b, 0)
          )
        },
        sending: (settled, total) => {
          if (!io.interrupt?.signal.aborted) progress.sending(settled, total)
        }
      }
    })
    progress.stop()
    const failedFiles = await failedRows?.commit()
    const after = await target.requests?.()
    const context: ReportContext = {
      target: { kind: target.kind, url: target.url },
      requests: before !== undefined && after !== undefined ? after - before : undefined,
      failedFiles,
      words
    }
    const code = exitCodeOf(summary)
    io.stdout(
      options.json
        ? `${JSON.stringify(jsonReport(summary, context, code), null, 2)}\n`
        : `${formatReport(summary, context)}\n`
    )
    return code
  } catch (error) {
    await failedRows?.discard()
    throw error
  } finally {
    progress.stop()
    unhook?.()
    io.interrupt?.signal.removeEventListener('abort', stopping)
    await target.close?.()
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}
