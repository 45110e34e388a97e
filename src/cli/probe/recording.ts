import { mkdir, readFile, writeFile } from 'fs/promises'
import { join } from 'path'
import { z } from 'zod'
import { subscriberHash } from './addresses'
import type { Finding } from './scenario'
import type { Exchange } from './transport'

// The probe's recordings: every request and answer of a complete run, with the token, the addresses, the domain, the
// audience ID and the run id replaced by fixed placeholders, so that a test can replay them (nock) and a run of the
// probe with the placeholders sends exactly the recorded requests.

/** The file `--record <dir>` writes, and the tests read. */
export const RECORDING_FILE = 'probe.json'

/** What every recording says instead of the run's own values. */
export const PLACEHOLDERS = {
  domain: 'probe-domain.invalid',
  runId: '00000000',
  audienceId: 'a0b1c2d3e4',
  dataCenter: 'us1',
  token: '<token>'
} as const

const Answer = z.object({ status: z.number().int(), body: z.unknown().optional() })

export const RecordedExchange = z.object({
  step: z.string(),
  request: z.object({
    origin: z.enum(['login', 'api']),
    method: z.string(),
    path: z.string(),
    query: z.record(z.string(), z.string()),
    body: z.unknown().optional()
  }),
  response: z.union([Answer, z.object({ error: z.string() })])
})

export const Recording = z.object({
  format: z.literal(1),
  /** `sandbox` until a maintainer refreshes the file from Mailchimp. */
  source: z.enum(['sandbox', 'mailchimp']),
  credentials: z.enum(['oauth', 'apiKey']),
  recordedAt: z.string(),
  note: z.string(),
  placeholders: z.object({
    domain: z.string(),
    runId: z.string(),
    audienceId: z.string(),
    dataCenter: z.string(),
    token: z.string()
  }),
  findings: z.array(
    z.object({
      id: z.string(),
      question: z.string(),
      answer: z.string(),
      observed: z.record(z.string(), z.union([z.string(), z.boolean()]))
    })
  ),
  exchanges: z.array(RecordedExchange)
})
export type Recording = z.infer<typeof Recording>

/** What must not survive into a recording. */
export interface Secrets {
  token: string
  domain: string
  runId: string
  audienceId: string
  dataCenter: string
  addresses: string[]
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

/** Member fields that identify a person or an account rather than describe what Mailchimp did. */
const PERSONAL: Record<string, unknown> = {
  unique_email_id: 'redacted',
  contact_id: 'redacted',
  web_id: 0,
  ip_signup: '',
  ip_opt: '',
  email_client: '',
  full_name: ''
}

function redactValue(value: unknown, strings: (text: string) => string): unknown {
  if (typeof value === 'string') return strings(value)
  if (Array.isArray(value)) return value.map((item) => redactValue(item, strings))
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const [key, inner] of Object.entries(value)) {
    if (key in PERSONAL && inner !== '' && inner !== null) out[key] = PERSONAL[key]
    else if (key === 'location' && inner !== null && typeof inner === 'object') {
      out[key] = Object.fromEntries(Object.entries(inner).map(([k, v]) => [k, typeof v === 'number' ? 0 : '']))
    } else out[strings(key)] = redactValue(inner, strings)
  }
  return out
}

/** Replaces every secret of the run by its placeholder; member hashes follow their addresses. */
export function redactor(secrets: Secrets): (text: string) => string {
  const placeholderOf = (address: string) =>
    address.toLowerCase().split(secrets.runId).join(PLACEHOLDERS.runId).split(secrets.domain).join(PLACEHOLDERS.domain)
  const pairs: Array<[RegExp, string]> = [
    ...secrets.addresses.map((address): [RegExp, string] => [
      new RegExp(subscriberHash(address), 'gi'),
      subscriberHash(placeholderOf(address))
    ]),
    // A real token is long; a short test token would match ordinary text.
    ...(secrets.token.length >= 8
      ? [[new RegExp(escape(secrets.token), 'g'), PLACEHOLDERS.token] as [RegExp, string]]
      : []),
    [
      new RegExp(`https://${escape(secrets.dataCenter)}\\.api\\.mailchimp\\.com`, 'g'),
      `https://${PLACEHOLDERS.dataCenter}.api.mailchimp.com`
    ],
    [new RegExp(escape(secrets.runId), 'gi'), PLACEHOLDERS.runId],
    [new RegExp(escape(secrets.domain), 'gi'), PLACEHOLDERS.domain],
    [new RegExp(escape(secrets.audienceId), 'g'), PLACEHOLDERS.audienceId]
  ]
  return (text) => pairs.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), text)
}

/** The run's exchanges with the secrets replaced; the metadata answer keeps only its (placeholder) data center. */
export function redactExchanges(exchanges: Exchange[], secrets: Secrets): Exchange[] {
  const strings = redactor(secrets)
  return exchanges.map((exchange) => {
    const request = redactValue(exchange.request, strings) as Exchange['request']
    if (exchange.request.origin === 'login' && 'status' in exchange.response) {
      const dc = (exchange.response.body as { dc?: unknown } | undefined)?.dc
      const body = typeof dc === 'string' ? { dc: PLACEHOLDERS.dataCenter } : exchange.response.body
      return { ...exchange, request, response: { status: exchange.response.status, body } }
    }
    return {
      ...exchange,
      step: strings(exchange.step),
      request,
      response: redactValue(exchange.response, strings) as Exchange['response']
    }
  })
}

/** Refuses to write anything that still holds a secret, whatever the redaction missed. */
export function assertRedacted(text: string, secrets: Secrets): void {
  const lower = text.toLowerCase()
  const placeholders: string[] = Object.values(PLACEHOLDERS)
  const leaks = [
    ['the token', secrets.token.length >= 8 ? secrets.token : ''],
    ['the domain', secrets.domain],
    ['the audience ID', secrets.audienceId],
    ['the run id', secrets.runId]
  ].filter(([, secret]) => secret !== '' && !placeholders.includes(secret) && lower.includes(secret.toLowerCase()))
  if (leaks.length > 0) {
    throw new Error(`The recording still holds ${leaks.map(([what]) => what).join(' and ')}; nothing was written.`)
  }
}

export async function writeRecording(dir: string, recording: Recording, secrets: Secrets): Promise<string> {
  const text = `${JSON.stringify(Recording.parse(recording), null, 2)}\n`
  assertRedacted(text, secrets)
  await mkdir(dir, { recursive: true })
  const file = join(dir, RECORDING_FILE)
  await writeFile(file, text)
  return file
}

export async function readRecording(file: string): Promise<Recording> {
  return Recording.parse(JSON.parse(await readFile(file, 'utf8')))
}

/** The findings as recorded: the run's own words, with its secrets replaced. */
export function redactFindings(findings: Finding[], secrets: Secrets): Recording['findings'] {
  const strings = redactor(secrets)
  return findings.map((finding) => redactValue(finding, strings) as Recording['findings'][number])
}

const SANDBOX_NOTE =
  "Made against the project's sandbox (src/sandbox), not Mailchimp: these answers are the sandbox's reading of Mailchimp's documentation. A maintainer with an account refreshes them: MAILCHIMP_API_KEY=… npm run -s cli -- probe --domain <a domain you own> --audience <audience id> --record test/recordings"
const MAILCHIMP_NOTE =
  'Recorded from Mailchimp by `mailchimp-cohort probe`; the token, addresses, domain, audience ID and run id are replaced by the placeholders below.'

/** A complete run as a recording: its findings and exchanges with every secret replaced. */
export function recordingOf(
  run: {
    source: Recording['source']
    credentials: Recording['credentials']
    findings: Finding[]
    exchanges: Exchange[]
  },
  secrets: Secrets
): Recording {
  return {
    format: 1,
    source: run.source,
    credentials: run.credentials,
    recordedAt: new Date().toISOString(),
    note: run.source === 'sandbox' ? SANDBOX_NOTE : MAILCHIMP_NOTE,
    placeholders: { ...PLACEHOLDERS },
    findings: redactFindings(run.findings, secrets),
    exchanges: redactExchanges(run.exchanges, secrets)
  }
}
