import { randomBytes } from 'crypto'
import type { Command } from 'commander'
import type { DestinationOptions } from '../index'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from '../sandbox'
import { credentialsFrom } from './credentials'
import { EXIT, UsageError } from './errors'
import { checkDomain, ProbeAddresses } from './probe/addresses'
import { PLACEHOLDERS, redactExchanges, redactFindings, writeRecording } from './probe/recording'
import type { Secrets } from './probe/recording'
import { cleanUp, PreflightError, Scenario } from './probe/scenario'
import type { Finding, ProbeContext } from './probe/scenario'
import { ProbeHttp } from './probe/transport'
import type { ProbeTarget } from './probe/transport'

/** Exit code of a run stopped by Ctrl-C (SIGINT) or SIGTERM, after its clean-up. */
export const EXIT_INTERRUPTED = 130

/** What the probe needs of its surroundings; the command's own Io provides it. */
export interface ProbeIo {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Tests point `--sandbox` at a sandbox of their own instead of a fresh one. */
  sandbox?: { endpoints: DestinationOptions['endpoints']; url: string; token: string }
  /** Tests stop a run with this instead of SIGINT. */
  interrupt?: AbortSignal
  /** Tests fix the run id, which names the tag and the addresses (a real run draws one at random). */
  runId?: string
}

export interface ProbeOptions {
  domain?: string
  audience?: string
  record?: string
  /** `true`: a fresh sandbox in this process; a URL: a running `npm run sandbox` on this machine. */
  sandbox?: boolean | string
}

/** Registers `mailchimp-cohort probe`; `done` receives the exit code. */
export function registerProbe(program: Command, io: ProbeIo, done: (code: number) => void): void {
  program
    .command('probe')
    .description(
      'Ask Mailchimp what its documentation leaves open, with a fixed scenario in a throw-away tag that deletes what it created at the end (even after a failure or Ctrl-C). Needs MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY and a domain you own: its contacts are made-up addresses there, and it never touches any other contact.'
    )
    .option(
      '--domain <domain>',
      'a domain you own: the probe creates its throw-away contacts at addresses there (required)'
    )
    .option('--audience <id>', 'the Mailchimp audience (list) ID to probe in; required with credentials')
    .option('--record <dir>', 'write every request and answer, redacted, to <dir>/probe.json for the tests to replay')
    .option(
      '--sandbox [url]',
      'probe a local sandbox instead of Mailchimp: a fresh one, or a running `npm run sandbox`'
    )
    .action(async (options: ProbeOptions) => {
      done(await probe(options, io))
    })
}

/** A local sandbox's address: loopback only, so the sandbox token never leaves this machine. */
function loopback(url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new UsageError(`--sandbox ${JSON.stringify(url)} is not a URL; give the one \`npm run sandbox\` printed.`)
  }
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(parsed.hostname) || !/^https?:$/.test(parsed.protocol)) {
    throw new UsageError('--sandbox takes only a sandbox on this machine (http://127.0.0.1:<port>).')
  }
  return parsed.origin
}

interface Resolved {
  target: ProbeTarget
  audienceId: string
  where: string
  stop?: () => Promise<void>
}

/** Mailchimp from the credentials the sync command reads, or a local sandbox when `--sandbox` asks for one. */
async function resolveTarget(options: ProbeOptions, io: ProbeIo): Promise<Resolved> {
  if (options.sandbox !== undefined && options.sandbox !== false) {
    const audienceId = options.audience ?? SANDBOX_AUDIENCE_ID
    const sandboxTarget = (
      metadataUrl: string,
      api: string | ((dc: string) => string),
      token: string
    ): ProbeTarget => ({
      kind: 'sandbox',
      credentials: 'oauth',
      token,
      metadataUrl,
      apiBaseUrl: typeof api === 'string' ? () => api : api
    })
    if (typeof options.sandbox === 'string') {
      const url = loopback(options.sandbox)
      return {
        target: sandboxTarget(`${url}/oauth2/metadata`, `${url}/3.0`, SANDBOX_TOKEN),
        audienceId,
        where: `the local sandbox at ${url} (not Mailchimp)`
      }
    }
    if (io.sandbox?.endpoints) {
      const { metadataUrl, apiBaseUrl } = io.sandbox.endpoints
      return {
        target: sandboxTarget(metadataUrl, apiBaseUrl, io.sandbox.token),
        audienceId,
        where: `the local sandbox at ${io.sandbox.url} (not Mailchimp)`
      }
    }
    const sandbox = await startSandbox()
    sandbox.addAudience({ id: audienceId, name: 'Sandbox audience' })
    const { metadataUrl, apiBaseUrl } = sandbox.endpoints
    return {
      target: sandboxTarget(metadataUrl, apiBaseUrl, SANDBOX_TOKEN),
      audienceId,
      where: `a fresh local sandbox at ${sandbox.url} (not Mailchimp)`,
      stop: () => sandbox.close()
    }
  }
  const credentials = credentialsFrom(io.env)
  if (credentials.kind === 'sandbox') {
    throw new UsageError(
      'The probe asks Mailchimp itself: set MAILCHIMP_ACCESS_TOKEN (OAuth) or MAILCHIMP_API_KEY. To try it without an account, add --sandbox.'
    )
  }
  if (!options.audience) {
    throw new UsageError('--audience is required: give the ID of the Mailchimp audience (list) to probe in.')
  }
  return {
    target: {
      kind: 'mailchimp',
      credentials: credentials.kind,
      token: credentials.token,
      metadataUrl: 'https://login.mailchimp.com/oauth2/metadata',
      ...(credentials.kind === 'apiKey' ? { dataCenter: credentials.dataCenter } : {}),
      apiBaseUrl: (dc) => `https://${dc}.api.mailchimp.com/3.0`
    },
    audienceId: options.audience,
    where: 'Mailchimp'
  }
}

/**
 * Ctrl-C (or SIGTERM, or the tests' signal) stops the scenario; the clean-up still runs. A second one stops the
 * clean-up too, and the run says what it left behind.
 */
function interrupts(io: ProbeIo) {
  const scenario = new AbortController()
  const cleanup = new AbortController()
  const onSignal = () => {
    if (!scenario.signal.aborted) {
      io.stderr('\nInterrupted: removing what the probe created (press Ctrl-C again to stop the clean-up).\n')
      scenario.abort(new Interrupted())
    } else cleanup.abort(new Interrupted())
  }
  if (io.interrupt) {
    if (io.interrupt.aborted) onSignal()
    else io.interrupt.addEventListener('abort', onSignal, { once: true })
  } else {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  const release = () => {
    io.interrupt?.removeEventListener('abort', onSignal)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return { scenario: scenario.signal, cleanup: cleanup.signal, release }
}

class Interrupted extends Error {
  override name = 'Interrupted'
  constructor() {
    super('interrupted')
  }
}

const RUN_ID = /^[a-z0-9]{1,16}$/

/** Runs `mailchimp-cohort probe`: 0 every question answered and everything removed, 1 not, 2 usage, 130 interrupted. */
export async function probe(options: ProbeOptions, io: ProbeIo): Promise<number> {
  const domain = checkDomain(options.domain)
  const runId = io.runId ?? randomBytes(4).toString('hex')
  if (!RUN_ID.test(runId)) throw new TypeError(`runId must be letters and digits, not ${JSON.stringify(runId)}`)
  const { target, audienceId, where, stop } = await resolveTarget(options, io)
  const addresses = new ProbeAddresses(domain, runId)
  const http = new ProbeHttp(target, addresses)
  const context: ProbeContext = { http, audienceId, addresses, tagName: `mailchimp-cohort probe ${runId}` }
  const print = (line = '') => io.stdout(`${line}\n`)
  const signals = interrupts(io)
  const scenario = new Scenario(context, signals.scenario)
  let findings: Finding[] = []
  let failure: string | undefined
  let interrupted = false

  print(`mailchimp-cohort probe: ${where}, audience ${audienceId}, contacts at @${domain} only, run ${runId}.`)
  print(
    'A fixed scenario in a throw-away tag; everything it creates is deleted at the end, even after a failure or Ctrl-C.'
  )
  print('Its contacts are transactional or unsubscribed, so no campaign or automation email goes to them.')
  print(
    "Questions 7 and 8 send fields and exclude_fields on two POST calls, which Mailchimp's OpenAPI description does not declare: only this probe sends them, to find out."
  )
  try {
    try {
      await scenario.preflight()
    } catch (error) {
      if (error instanceof PreflightError) throw new UsageError(error.message)
      throw error
    }
    print()
    print(await scenario.setUp())
    let n = 0
    findings = await scenario.ask((finding) => {
      print()
      print(`${++n}. ${finding.question}`)
      print(`   ${finding.answer}`)
    })
  } catch (error) {
    if (error instanceof UsageError) {
      signals.release()
      await stop?.()
      throw error
    }
    interrupted = signals.scenario.aborted
    failure = interrupted ? undefined : error instanceof Error ? error.message : String(error)
  }

  let code: number
  try {
    const cleaned = await cleanUp(context, scenario.made, signals.cleanup).catch(() => ({
      lines: ['stopped before the end'],
      leftovers: ['possibly the tag and the contacts of this run: look for "mc-probe-' + runId + '" in the audience']
    }))
    print()
    if (failure) print(`The scenario stopped: ${failure}`)
    if (interrupted) print(`The scenario was interrupted after ${findings.length} of 8 questions.`)
    if (cleaned.lines.length > 0) print(`Clean-up: ${cleaned.lines.join('; ')}.`)
    for (const leftover of cleaned.leftovers) print(`  Left behind: ${leftover}.`)
    const complete = !failure && !interrupted && cleaned.leftovers.length === 0
    if (options.record) {
      if (complete) {
        const secrets: Secrets = {
          token: target.token,
          domain,
          runId,
          audienceId,
          dataCenter: (await http.dataCenter(signals.cleanup).catch(() => PLACEHOLDERS.dataCenter)) as string,
          addresses: Object.values(addresses.byRole)
        }
        const file = await writeRecording(
          options.record,
          {
            format: 1,
            source: target.kind,
            credentials: target.credentials,
            recordedAt: new Date().toISOString(),
            note:
              target.kind === 'sandbox'
                ? "Made against the project's sandbox (src/sandbox), not Mailchimp: these answers are the sandbox's reading of Mailchimp's documentation. A maintainer with an account refreshes them: MAILCHIMP_API_KEY=… npm run -s cli -- probe --domain <a domain you own> --audience <audience id> --record test/recordings"
                : 'Recorded from Mailchimp by `mailchimp-cohort probe`; token, addresses, domain, audience ID and run id replaced by the placeholders below.',
            placeholders: PLACEHOLDERS,
            findings: redactFindings(findings, secrets),
            exchanges: redactExchanges(http.exchanges, secrets)
          },
          secrets
        )
        print(
          `Recorded ${http.exchanges.length} requests and answers to ${file} (token, addresses, domain and audience ID redacted).`
        )
      } else {
        print('Not recorded: only a complete run makes a recording.')
      }
    }
    code = interrupted ? EXIT_INTERRUPTED : complete ? EXIT.ok : EXIT.someFailed
  } finally {
    signals.release()
    await stop?.()
  }
  return code
}
