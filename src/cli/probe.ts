import { randomBytes } from 'crypto'
import type { Command } from 'commander'
import { EXIT, UsageError } from './errors'
import { checkDomain, ProbeAddresses } from './probe/addresses'
import { listenForInterrupts } from './probe/interrupts'
import type { Interrupts } from './probe/interrupts'
import { recordingOf, writeRecording } from './probe/recording'
import { cleanUp, PreflightError, QUESTIONS, Scenario } from './probe/scenario'
import type { Finding, ProbeContext } from './probe/scenario'
import { resolveTarget } from './probe/target'
import type { OwnSandbox, Resolved } from './probe/target'
import { CredentialsRefused, ProbeHttp } from './probe/transport'

// `mailchimp-cohort probe`: asks Mailchimp, with real credentials, what its documentation leaves open. The scenario
// and its questions are in probe/scenario.ts; this file runs it, cleans up and reports.

/** What the probe needs of its surroundings; the command's own Io provides it. */
export interface ProbeIo {
  env: NodeJS.ProcessEnv
  stdout: (text: string) => void
  stderr: (text: string) => void
  /** Tests point `--sandbox` at a sandbox of their own instead of a fresh one. */
  sandbox?: OwnSandbox
  /** Tests stop a probe with this instead of SIGINT. */
  stopProbe?: AbortSignal
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

const RUN_ID = /^[a-z0-9]{1,16}$/

/** Runs the probe: 0 every question answered and everything removed, 1 not, 2 usage, 130 interrupted. */
export async function probe(options: ProbeOptions, io: ProbeIo): Promise<number> {
  const domain = checkDomain(options.domain)
  const runId = io.runId ?? randomBytes(4).toString('hex')
  if (!RUN_ID.test(runId))
    throw new TypeError(`runId must be lower-case letters and digits, not ${JSON.stringify(runId)}`)
  const resolved = await resolveTarget(options, io.env, io.sandbox)
  const interrupts = listenForInterrupts(io.stderr, io.stopProbe)
  try {
    return await runProbe(resolved, new ProbeAddresses(domain, runId), interrupts, options.record, io)
  } finally {
    interrupts.release()
    await resolved.stop?.()
  }
}

async function runProbe(
  { target, audienceId, where }: Resolved,
  addresses: ProbeAddresses,
  interrupts: Interrupts,
  record: string | undefined,
  io: ProbeIo
): Promise<number> {
  const http = new ProbeHttp(target, addresses)
  const context: ProbeContext = { http, audienceId, addresses, tagName: `mailchimp-cohort probe ${addresses.runId}` }
  const print = (line = '') => io.stdout(`${line}\n`)
  const scenario = new Scenario(context, interrupts.scenario)
  const total = Object.keys(QUESTIONS).length
  let findings: Finding[] = []
  let failure: string | undefined

  print(
    `mailchimp-cohort probe: ${where}, audience ${audienceId}, contacts at @${addresses.domain} only, run ${addresses.runId}.`
  )
  print(
    'A fixed scenario in a throw-away tag; everything it creates is deleted at the end, even after a failure or Ctrl-C.'
  )
  print('Its contacts are transactional or unsubscribed, so no campaign or automation email goes to them.')
  print(
    "Questions 7 and 8 send fields and exclude_fields on two POST calls, which Mailchimp's OpenAPI description does not declare: only this probe sends them, to find out."
  )
  try {
    await scenario.preflight()
    print()
    print(await scenario.setUp())
    findings = await scenario.ask((finding) => {
      print()
      print(`${findings.length + 1}. ${finding.question}`)
      print(`   ${finding.answer}`)
      findings = [...findings, finding]
    })
  } catch (error) {
    // Nothing was created yet: the operator has something to fix.
    if (error instanceof PreflightError || error instanceof CredentialsRefused) throw new UsageError(error.message)
    if (!interrupts.scenario.aborted) failure = error instanceof Error ? error.message : String(error)
  }
  const interrupted = interrupts.scenario.aborted

  const cleaned = await cleanUp(context, scenario.made, interrupts.cleanup).catch(() => ({
    lines: ['stopped before the end'],
    leftovers: [
      `whatever of this run remains: look for "mc-probe-${addresses.runId}" in the audience's contacts and tags`
    ]
  }))
  print()
  if (failure) print(`The scenario stopped: ${failure}`)
  if (interrupted) print(`The scenario was interrupted after ${findings.length} of ${total} questions.`)
  if (cleaned.lines.length > 0) print(`Clean-up: ${cleaned.lines.join('; ')}.`)
  for (const leftover of cleaned.leftovers) print(`  Left behind: ${leftover}.`)

  const complete = !failure && !interrupted && cleaned.leftovers.length === 0
  if (record !== undefined && !complete) print('Not recorded: only a complete run makes a recording.')
  if (record !== undefined && complete) {
    const secrets = {
      token: target.token,
      domain: addresses.domain,
      runId: addresses.runId,
      audienceId,
      dataCenter: http.knownDataCenter ?? '',
      addresses: Object.values(addresses.byRole)
    }
    const recording = recordingOf(
      { source: target.kind, credentials: target.credentials, findings, exchanges: http.exchanges },
      secrets
    )
    const file = await writeRecording(record, recording, secrets)
    print(
      `Recorded ${http.exchanges.length} requests and answers to ${file} (token, addresses, domain and audience ID redacted).`
    )
  }
  return interrupted ? EXIT.interrupted : complete ? EXIT.ok : EXIT.someFailed
}
