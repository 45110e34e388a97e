import { InvalidAuthenticationError } from '@segment/actions-core'
import type { Logger, RequestClient, StateContext, StatsContext } from '@segment/actions-core'
import { Lookups } from './lookups'
import { lookupCache } from './mailchimp/cache'
import { MailchimpClient } from './mailchimp/client'
import { NO_TOKEN_MESSAGE } from './mailchimp/errors'
import type { ResolvedOptions } from './options'
import { telemetry } from './telemetry'
import type { Telemetry } from './telemetry'

/** A client for one token, with the lookups that tell it where the account lives. */
export interface Connection {
  client: MailchimpClient
  lookups: Lookups
  /** Metrics and logs for the host, when it takes them. */
  telemetry: Telemetry
}

/** What the host hands a call: the token as `auth.accessToken` (actions) or `settings.oauth` (audience calls). */
export interface Credentials {
  auth?: { accessToken?: string }
  settings?: unknown
  /** A token handed over directly, by tools that hold one. */
  token?: string
  /** The host's cross-request cache, when it gives one. */
  stateContext?: StateContext
  /** The host's metrics client and logger, when it gives them. */
  statsContext?: StatsContext
  logger?: Logger
  /** Reports already set up for this call, when the caller reports too. */
  telemetry?: Telemetry
}

/** The one way to reach Mailchimp from a call of the host: the token it carries, the cache it offers. */
export function connect(request: RequestClient, credentials: Credentials, options: ResolvedOptions): Connection {
  const token = credentials.token ?? accessTokenFrom(credentials.auth, credentials.settings)
  const reports = credentials.telemetry ?? telemetry(credentials)
  let lookups: Lookups | undefined = undefined
  const client = new MailchimpClient(request, token, options, () => (lookups as Lookups).dataCenter(), reports)
  lookups = new Lookups(client, lookupCache(credentials.stateContext), reports, options.dataCenter)
  return { client, lookups, telemetry: reports }
}

/** The host hands the OAuth token to actions as `auth.accessToken` and to audience calls as `settings.oauth`. */
function accessTokenFrom(auth?: { accessToken?: string }, settings?: unknown): string {
  const oauth = (settings as { oauth?: { access_token?: unknown } } | undefined)?.oauth
  const token = auth?.accessToken ?? (typeof oauth?.access_token === 'string' ? oauth.access_token : undefined)
  if (!token) throw new InvalidAuthenticationError(NO_TOKEN_MESSAGE)
  return token
}
