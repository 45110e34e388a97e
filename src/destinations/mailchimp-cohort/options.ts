import { MAILCHIMP_CONNECTIONS, MAILCHIMP_ENDPOINTS, REQUEST_TIMEOUT_MS } from './constants'
import type { MailchimpEndpoints } from './constants'
import { isDataCenter } from './validation'

/** Set by the program that embeds the destination (`mailchimpCohorts(options)`), never by an operator's settings. */
export interface DestinationOptions {
  /**
   * Where Mailchimp lives; tests and the sandbox point it at loopback. `apiBaseUrl` is a function of the data center,
   * or one base URL for every data center (what `npm run sandbox` prints).
   */
  endpoints?: { metadataUrl: string; apiBaseUrl: string | ((dc: string) => string) }
  /** Per-request timeout in milliseconds; defaults to REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number
  /**
   * The account's data center, when the embedding program already knows it: a Mailchimp API key ends with it
   * (`…-us6`). The OAuth metadata lookup is then skipped; OAuth tokens leave this unset.
   */
  dataCenter?: string
  /**
   * The most requests of one Mailchimp account this process keeps in flight, 1 to 10 (Mailchimp's limit per user);
   * default 10. The share starts at 8, leaving room for the account's other apps, and grows to this ceiling while
   * Mailchimp answers without throttling.
   */
  maxRequestsInFlight?: number
}

/** The options with every default filled in and every value checked. */
export interface ResolvedOptions {
  endpoints: MailchimpEndpoints
  requestTimeoutMs: number
  dataCenter?: string
  maxRequestsInFlight: number
}

const describe = (value: unknown) => (typeof value === 'string' ? JSON.stringify(value) : typeof value)

/**
 * Checks the embedding program's options once, when the definition is built: a wrong one is a programming mistake,
 * refused at once with a TypeError naming the option rather than failing every batch later.
 */
export function resolveOptions(options: DestinationOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object')
  const { dataCenter, requestTimeoutMs, maxRequestsInFlight } = options
  if (dataCenter !== undefined && !isDataCenter(dataCenter)) {
    throw new TypeError(`options.dataCenter must be a Mailchimp data center such as "us6", not ${describe(dataCenter)}`)
  }
  if (requestTimeoutMs !== undefined && !(Number.isInteger(requestTimeoutMs) && requestTimeoutMs > 0)) {
    throw new TypeError(`options.requestTimeoutMs must be a positive integer, not ${describe(requestTimeoutMs)}`)
  }
  if (
    maxRequestsInFlight !== undefined &&
    !(Number.isInteger(maxRequestsInFlight) && maxRequestsInFlight >= 1 && maxRequestsInFlight <= MAILCHIMP_CONNECTIONS)
  ) {
    throw new TypeError(
      `options.maxRequestsInFlight must be an integer from 1 to ${MAILCHIMP_CONNECTIONS} (Mailchimp's limit), not ${describe(maxRequestsInFlight)}`
    )
  }
  return {
    endpoints: endpointsFrom(options.endpoints),
    requestTimeoutMs: requestTimeoutMs ?? REQUEST_TIMEOUT_MS,
    ...(dataCenter !== undefined ? { dataCenter } : {}),
    maxRequestsInFlight: maxRequestsInFlight ?? MAILCHIMP_CONNECTIONS
  }
}

function endpointsFrom(endpoints: DestinationOptions['endpoints']): MailchimpEndpoints {
  if (endpoints === undefined) return MAILCHIMP_ENDPOINTS
  if (typeof endpoints !== 'object' || endpoints === null) {
    throw new TypeError(`options.endpoints must be { metadataUrl, apiBaseUrl }, not ${describe(endpoints)}`)
  }
  const { metadataUrl, apiBaseUrl } = endpoints
  if (typeof metadataUrl !== 'string' || !isHttpUrl(metadataUrl)) {
    throw new TypeError(`options.endpoints.metadataUrl must be an http(s) URL string, not ${describe(metadataUrl)}`)
  }
  if (typeof apiBaseUrl === 'function') return { metadataUrl, apiBaseUrl }
  if (typeof apiBaseUrl === 'string' && isHttpUrl(apiBaseUrl)) {
    const base = apiBaseUrl.replace(/\/+$/, '')
    return { metadataUrl, apiBaseUrl: () => base }
  }
  throw new TypeError(
    `options.endpoints.apiBaseUrl must be a base URL string or a function of the data center, not ${describe(apiBaseUrl)}`
  )
}

function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value)
    return protocol === 'http:' || protocol === 'https:'
  } catch {
    return false
  }
}
