/**
 * Where a sync goes: Mailchimp with the environment's credentials, or a local sandbox only when `--sandbox` asks for
 * one (a fresh one in this process, or a running `npm run sandbox` on this machine, whose token and default audience
 * it gives).
 */
import { z } from 'zod'
import type { DestinationOptions } from '../index'
import { SANDBOX_AUDIENCE_ID, startSandbox } from '../sandbox'
import { credentialsFrom, NO_CREDENTIALS } from './credentials'
import { UsageError } from './errors'

export interface SyncTarget {
  kind: 'mailchimp' | 'sandbox'
  /** The sandbox's address. */
  url?: string
  token: string
  audienceId: string
  /** How to build the destination for it. */
  options: DestinationOptions
  /** Domains the sandbox refuses as fake. */
  fakeDomains?: string[]
  /** Requests the sandbox has received in all; undefined when it cannot tell. */
  requests?: () => Promise<number | undefined>
  /** What stderr says about the target before the sync. */
  note?: string
  close?: () => Promise<void>
}

/** A sandbox a test (or another embedding program) hands the command instead of a fresh one. */
export interface SandboxHook {
  endpoints: DestinationOptions['endpoints']
  url: string
  token: string
}

const AUDIENCE_ID = /^[A-Za-z0-9]{1,64}$/
const LOOPBACK = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i

const info = z.looseObject({
  token: z.string().nullable(),
  audience_ids: z.array(z.string()),
  fake_domains: z.array(z.string())
})
const counters = z.looseObject({ total: z.number() })

export async function targetFor(
  wanted: { sandbox?: string | boolean; audience?: string },
  env: NodeJS.ProcessEnv,
  hook?: SandboxHook
): Promise<SyncTarget> {
  if (wanted.audience !== undefined && !AUDIENCE_ID.test(wanted.audience)) {
    throw new UsageError(
      `--audience ${JSON.stringify(wanted.audience)} is not an audience ID: those are letters and digits, such as "57afe96172". In Mailchimp: Audience > All contacts > Settings > Audience name and defaults.`
    )
  }
  if (wanted.sandbox === undefined || wanted.sandbox === false) return mailchimp(wanted.audience, env)
  const unused = ['MAILCHIMP_ACCESS_TOKEN', 'MAILCHIMP_API_KEY'].filter((name) => env[name] !== undefined)
  const aside = unused.length > 0 ? ` ${unused.join(' and ')} ${unused.length > 1 ? 'are' : 'is'} not used.` : ''
  const target =
    typeof wanted.sandbox === 'string'
      ? await runningSandbox(wanted.sandbox, wanted.audience)
      : hook
        ? await hookedSandbox(hook, wanted.audience)
        : await freshSandbox(wanted.audience)
  return { ...target, note: `--sandbox: syncing into a local sandbox at ${target.url}, not Mailchimp.${aside}` }
}

function mailchimp(audience: string | undefined, env: NodeJS.ProcessEnv): SyncTarget {
  const credentials = credentialsFrom(env)
  if (!credentials) throw new UsageError(NO_CREDENTIALS)
  if (audience === undefined) {
    throw new UsageError('--audience is required with Mailchimp credentials: give the audience (list) ID to sync into.')
  }
  return {
    kind: 'mailchimp',
    token: credentials.token,
    audienceId: audience,
    options: credentials.kind === 'apiKey' ? { dataCenter: credentials.dataCenter } : {}
  }
}

async function freshSandbox(audience: string | undefined): Promise<SyncTarget> {
  const sandbox = await startSandbox()
  const { token, fake_domains } = sandbox.info()
  return {
    kind: 'sandbox',
    url: sandbox.url,
    token: token ?? '',
    audienceId: sandbox.addAudience({ id: audience ?? SANDBOX_AUDIENCE_ID, name: 'Sandbox audience' }),
    options: { endpoints: sandbox.endpoints },
    fakeDomains: fake_domains,
    requests: async () => sandbox.counters.total,
    close: () => sandbox.close()
  }
}

async function hookedSandbox(hook: SandboxHook, audience: string | undefined): Promise<SyncTarget> {
  const about = await admin(hook.url, '/info', info)
  const audienceId = audience ?? about.audience_ids[0]
  if (audienceId === undefined) throw new UsageError(`The sandbox at ${hook.url} has no audience: pass --audience.`)
  return {
    kind: 'sandbox',
    url: hook.url,
    token: hook.token,
    audienceId,
    options: { endpoints: hook.endpoints },
    fakeDomains: about.fake_domains,
    requests: () => requestsOf(hook.url)
  }
}

/** A sandbox in another process (`npm run sandbox`), on this machine only: its admin API tells its token and audience. */
async function runningSandbox(address: string, audience: string | undefined): Promise<SyncTarget> {
  const origin = loopbackOrigin(address)
  const about = await admin(origin, '/info', info)
  if (about.token === null) throw new UsageError(`The sandbox at ${origin} accepts no token any more: restart it.`)
  const audienceId = audience ?? about.audience_ids[0]
  if (audienceId === undefined) throw new UsageError(`The sandbox at ${origin} has no audience: pass --audience.`)
  return {
    kind: 'sandbox',
    url: origin,
    token: about.token,
    audienceId,
    // Built from the address given, never from what the sandbox answers: the token goes nowhere else.
    options: { endpoints: { metadataUrl: `${origin}/oauth2/metadata`, apiBaseUrl: () => `${origin}/3.0` } },
    fakeDomains: about.fake_domains,
    requests: () => requestsOf(origin)
  }
}

function loopbackOrigin(address: string): string {
  let url: URL | undefined
  try {
    url = new URL(address)
  } catch {
    url = undefined
  }
  if (
    !url ||
    url.protocol !== 'http:' ||
    !LOOPBACK.test(url.hostname) ||
    url.username !== '' ||
    url.password !== '' ||
    !['', '/'].includes(url.pathname) ||
    url.search !== '' ||
    url.hash !== ''
  ) {
    throw new UsageError(
      `--sandbox ${JSON.stringify(address)}: give the address of a sandbox on this machine, such as http://127.0.0.1:8080 (the "url" that npm run sandbox prints), or --sandbox alone for a fresh one.`
    )
  }
  return url.origin
}

async function admin<T>(origin: string, path: string, schema: z.ZodType<T>): Promise<T> {
  let body: unknown
  try {
    const response = await fetch(`${origin}/_sandbox${path}`, { signal: AbortSignal.timeout(5000) })
    if (!response.ok) throw new Error(`it answered ${response.status}`)
    body = await response.json()
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message
    throw new UsageError(
      `Cannot use the sandbox at ${origin} (${reason}): is npm run sandbox running there? Nothing was sent.`
    )
  }
  const parsed = schema.safeParse(body)
  if (!parsed.success) throw new UsageError(`${origin} does not answer like the project's sandbox. Nothing was sent.`)
  return parsed.data
}

async function requestsOf(origin: string): Promise<number | undefined> {
  try {
    return (await admin(origin, '/counters', counters)).total
  } catch {
    return undefined
  }
}
