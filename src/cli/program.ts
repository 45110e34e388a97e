import { Command, CommanderError, InvalidArgumentError, Option } from 'commander'
import { SingleBar } from 'cli-progress'
import { mailchimpCohorts } from '../index'
import type { DestinationOptions, StatusIfNew } from '../index'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from '../sandbox'
import { readCohortFile } from './cohort-file'
import type { CohortRow } from './cohort-file'
import { syncCohortRows } from './cohort-sync'
import type { SyncSummary } from './cohort-sync'
import { credentialsFrom } from './credentials'
import { EXIT, TransientError, UsageError } from './errors'
import { registerProbe } from './probe'
import { formatReport, jsonReport, landed } from './report'
import type { Target } from './report'

const STATUSES: StatusIfNew[] = ['audience_default', 'subscribed', 'pending', 'transactional', 'skip']

export interface Io {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Whether stderr is a terminal: the progress bar is drawn only there. */
  interactive?: boolean
  /** Tests point a run at a sandbox of their own instead of a fresh one. */
  sandbox?: { endpoints: DestinationOptions['endpoints']; url: string; token: string }
  retryDelayMs?: number
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
  dryRun?: boolean
  json?: boolean
}

/** Runs `mailchimp-cohort <args>` and resolves to its exit code: 0 all rows landed, 1 some failed, 2 usage. */
export async function run(args: string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok
  const program = new Command('mailchimp-cohort')
    .description('Put a cohort into Mailchimp as a tag, once, from a CSV or JSON Lines file.')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError()

  program
    .command('sync')
    .description(
      'Tag every contact of the file with the cohort, creating contacts missing from the audience, and remove the tag from leavers. Credentials come from MAILCHIMP_ACCESS_TOKEN (OAuth) or MAILCHIMP_API_KEY (ends with its data center, e.g. -us6); without either, the sync goes to a local sandbox.'
    )
    .requiredOption('--file <path>', 'contacts in the cohort: CSV with a header row, or JSON Lines (.jsonl)')
    .option('--email-column <name>', 'the column (or JSON key) holding email addresses', 'email')
    .requiredOption('--cohort <name>', 'the cohort, which names the Mailchimp tag (fewer than 88 characters)')
    .option('--remove-file <path>', 'contacts who left the cohort: the tag is removed from them')
    .option('--membership-column <name>', 'a true/false column of --file telling members (true) from leavers (false)')
    .option('--audience <id>', 'the Mailchimp audience (list) ID; required with credentials')
    .addOption(
      new Option('--status-if-new <status>', 'status for contacts not yet in the audience; skip never creates any')
        .choices(STATUSES)
        .default('audience_default')
    )
    .option(
      '--mirror',
      'full resync: also remove the tag from contacts who carry it but are not in --file (read from Mailchimp first)'
    )
    .option(
      '--max-untag <percent>',
      'with --mirror, refuse to untag more than this share of the tag',
      (value: string) => {
        const percent = Number(value)
        if (!Number.isFinite(percent) || percent < 0 || percent > 100) {
          throw new InvalidArgumentError('a percentage from 0 to 100')
        }
        return percent
      },
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
        return { ...previous, [match[1].toUpperCase()]: match[2] }
      },
      {}
    )
    .option('--dry-run', 'read the files and check the connection, then print the plan and counts; change nothing')
    .option('--json', 'print a machine-readable report on stdout')
    .action(async (options: SyncOptions) => {
      exitCode = await sync(options, io)
    })

  registerProbe(program, io, (code) => (exitCode = code))

  try {
    await program.parseAsync(args, { from: 'user' })
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' ? EXIT.ok : EXIT.usage
    }
    if (error instanceof UsageError || error instanceof TransientError) {
      io.stderr(`mailchimp-cohort: ${error.message}\n`)
      return error instanceof UsageError ? EXIT.usage : EXIT.someFailed
    }
    throw error
  }
  return exitCode
}

async function sync(options: SyncOptions, io: Io): Promise<number> {
  const credentials = credentialsFrom(io.env)
  if (credentials.kind !== 'sandbox' && !options.audience) {
    throw new UsageError('--audience is required with Mailchimp credentials: give the audience (list) ID to sync into.')
  }
  if (Object.keys(options.mergeField).length > 0 && options.statusIfNew === 'skip') {
    throw new UsageError(
      '--merge-field cannot be combined with --status-if-new skip: writing merge fields may create the contact, which skip forbids.'
    )
  }
  if (options.mirror && (options.removeFile || options.membershipColumn)) {
    throw new UsageError(
      '--mirror takes the whole cohort from --file and untags everyone else; it cannot be combined with --remove-file or --membership-column.'
    )
  }
  // Every file is read and checked before anything is sent.
  const rows: CohortRow[] = [
    ...(await readCohortFile(options.file, {
      emailColumn: options.emailColumn,
      membershipColumn: options.membershipColumn,
      mergeColumns: options.mergeField,
      defaultMembership: true
    })),
    ...(options.removeFile
      ? await readCohortFile(options.removeFile, { emailColumn: options.emailColumn, defaultMembership: false })
      : [])
  ]

  let target: Target = { kind: 'mailchimp' }
  let destinationOptions: DestinationOptions = {}
  let token = credentials.kind === 'sandbox' ? SANDBOX_TOKEN : credentials.token
  let audienceId = options.audience ?? SANDBOX_AUDIENCE_ID
  let stopSandbox: (() => Promise<void>) | undefined
  let countRequests: (() => number) | undefined
  if (credentials.kind === 'apiKey') destinationOptions = { dataCenter: credentials.dataCenter }
  if (credentials.kind === 'sandbox') {
    if (io.sandbox) {
      destinationOptions = { endpoints: io.sandbox.endpoints }
      target = { kind: 'sandbox', url: io.sandbox.url }
      token = io.sandbox.token
    } else {
      const sandbox = await startSandbox()
      audienceId = sandbox.addAudience({ id: audienceId, name: 'Sandbox audience' })
      destinationOptions = { endpoints: sandbox.endpoints }
      target = { kind: 'sandbox', url: sandbox.url }
      stopSandbox = () => sandbox.close()
      countRequests = () => sandbox.counters.total
    }
    io.stderr(
      `No MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY: syncing into a local sandbox at ${target.url}, not Mailchimp.\n`
    )
  }

  const bar =
    io.interactive && !options.json
      ? new SingleBar({ format: ' {bar} {value}/{total} rows  {eta_formatted} left', hideCursor: true })
      : undefined
  let summary: SyncSummary
  try {
    bar?.start(rows.length, 0)
    summary = await syncCohortRows({
      definition: mailchimpCohorts(destinationOptions),
      token,
      audienceId,
      cohort: options.cohort,
      emailColumn: options.emailColumn,
      rows,
      statusIfNew: options.statusIfNew,
      dryRun: options.dryRun,
      mirror: options.mirror
        ? {
            options: destinationOptions,
            maxUntagShare: options.maxUntag / 100,
            force: options.force ?? false,
            ignoreBadRows: options.ignoreBadRows ?? false
          }
        : undefined,
      retryDelayMs: io.retryDelayMs,
      onProgress: (settled) => bar?.update(settled)
    })
  } finally {
    bar?.stop()
    await stopSandbox?.()
  }

  // A dry run whose mirror the safety check would refuse ends like the real run would: a usage error.
  const exitCode = summary.mirror?.refused ? EXIT.usage : summary.outcomes.every(landed) ? EXIT.ok : EXIT.someFailed
  const requests = countRequests?.()
  io.stdout(
    options.json
      ? `${JSON.stringify(jsonReport(summary, target, exitCode, requests), null, 2)}\n`
      : `${formatReport(summary, target, requests)}\n`
  )
  return exitCode
}
