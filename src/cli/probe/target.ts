import type { DestinationOptions } from '../../index'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from '../../sandbox'
import { credentialsFrom } from '../credentials'
import { UsageError } from '../errors'
import type { ProbeTarget } from './transport'

/** Mailchimp's hosts, as the plugin's default export uses them. */
const METADATA_URL = 'https://login.mailchimp.com/oauth2/metadata'
const apiBaseUrl = (dc: string) => `https://${dc}.api.mailchimp.com/3.0`

/** Where a run goes, what it says it is, and how to stop a sandbox it started. */
export interface Resolved {
  target: ProbeTarget
  audienceId: string
  where: string
  stop?: () => Promise<void>
}

export interface TargetChoice {
  audience?: string
  /** `true`: a fresh sandbox in this process; a URL: a running `npm run sandbox` on this machine. */
  sandbox?: boolean | string
}

/** Tests hand over a sandbox of their own, as they do to `sync`. */
export type OwnSandbox = { endpoints: DestinationOptions['endpoints']; url: string; token: string }

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

function sandboxTarget(metadataUrl: string, api: string | ((dc: string) => string), token: string): ProbeTarget {
  return {
    kind: 'sandbox',
    credentials: 'oauth',
    token,
    metadataUrl,
    apiBaseUrl: typeof api === 'string' ? () => api : api
  }
}

async function sandboxFor(choice: TargetChoice, own?: OwnSandbox): Promise<Resolved> {
  const audienceId = choice.audience ?? SANDBOX_AUDIENCE_ID
  const note = (url: string) => `the local sandbox at ${url} (not Mailchimp)`
  if (typeof choice.sandbox === 'string') {
    const url = loopback(choice.sandbox)
    return {
      target: sandboxTarget(`${url}/oauth2/metadata`, `${url}/3.0`, SANDBOX_TOKEN),
      audienceId,
      where: note(url)
    }
  }
  if (own?.endpoints) {
    const { metadataUrl, apiBaseUrl: api } = own.endpoints
    return { target: sandboxTarget(metadataUrl, api, own.token), audienceId, where: note(own.url) }
  }
  const sandbox = await startSandbox()
  sandbox.addAudience({ id: audienceId, name: 'Sandbox audience' })
  const { metadataUrl, apiBaseUrl: api } = sandbox.endpoints
  return {
    target: sandboxTarget(metadataUrl, api, SANDBOX_TOKEN),
    audienceId,
    where: `a fresh local sandbox at ${sandbox.url} (not Mailchimp)`,
    stop: () => sandbox.close()
  }
}

/** The audience ID goes into every path: letters and digits only, as Mailchimp's are. */
function checkAudience(id: string): string {
  if (!/^[A-Za-z0-9]{1,64}$/.test(id)) {
    throw new UsageError(
      `--audience ${JSON.stringify(id)} is not an audience ID: letters and digits, such as 57afe96172.`
    )
  }
  return id
}

/**
 * Mailchimp, from the credentials the sync command reads (MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY), or a local
 * sandbox when `--sandbox` asks for one. Without either the probe refuses: it exists to ask Mailchimp itself.
 */
export async function resolveTarget(choice: TargetChoice, env: NodeJS.ProcessEnv, own?: OwnSandbox): Promise<Resolved> {
  if (choice.audience !== undefined) checkAudience(choice.audience)
  if (choice.sandbox !== undefined && choice.sandbox !== false) return sandboxFor(choice, own)
  const credentials = credentialsFrom(env)
  if (credentials === undefined) {
    throw new UsageError(
      'The probe asks Mailchimp itself: set MAILCHIMP_ACCESS_TOKEN (OAuth) or MAILCHIMP_API_KEY. To try it without an account, add --sandbox.'
    )
  }
  if (!choice.audience) {
    throw new UsageError('--audience is required: give the ID of the Mailchimp audience (list) to probe in.')
  }
  return {
    target: {
      kind: 'mailchimp',
      credentials: credentials.kind,
      token: credentials.token,
      metadataUrl: METADATA_URL,
      ...(credentials.kind === 'apiKey' ? { dataCenter: credentials.dataCenter } : {}),
      apiBaseUrl
    },
    audienceId: choice.audience,
    where: 'Mailchimp'
  }
}
