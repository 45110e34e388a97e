import type { ProbeAddresses } from './addresses'
import { Metadata } from './schemas'

/** Where the probe sends its requests. Only the program builds one: from credentials, or for a local sandbox. */
export interface ProbeTarget {
  kind: 'mailchimp' | 'sandbox'
  /** How Mailchimp knows the account: an OAuth token (its data center asked of the metadata endpoint) or an API key. */
  credentials: 'oauth' | 'apiKey'
  token: string
  /** The OAuth metadata endpoint; with an API key the data center is known instead. */
  metadataUrl: string
  /** The API key's data center. */
  dataCenter?: string
  /** Marketing API base for a data center, without a trailing slash, e.g. `https://us6.api.mailchimp.com/3.0`. */
  apiBaseUrl: (dc: string) => string
}

export interface ProbeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'
  /** The path under the API base, e.g. `/lists/57afe96172`; recorded with its `/3.0` prefix. */
  path: string
  query?: Record<string, string>
  body?: unknown
}

/** What Mailchimp answered: any status, with its JSON body when it sent one. */
export interface ProbeAnswer {
  status: number
  body?: unknown
}

/** One request and its answer, as sent and received (before redaction). */
export interface Exchange {
  /** The scenario step that sent it, e.g. `already-tagged: second add`. */
  step: string
  request: { origin: 'login' | 'api'; method: string; path: string; query: Record<string, string>; body?: unknown }
  response: ProbeAnswer | { error: string }
}

/** A request that got no answer: refused, reset, timed out or interrupted. */
export class NoAnswerError extends Error {
  override name = 'NoAnswerError'
}

/** Mailchimp refused the token or key before anything was created: the operator has something to fix. */
export class CredentialsRefused extends NoAnswerError {
  override name = 'CredentialsRefused'
}

const DATA_CENTER = /^[a-z]+[0-9]+$/
const TIMEOUT_MS = 60_000

/**
 * The probe's HTTP: one request at a time, every one of them recorded with its answer. Unlike the plugin's client it
 * reads no answer and maps no error: the scenario reads what Mailchimp said, whatever it was. The token travels only
 * in the Authorization header, to the target's hosts; redirects are not followed.
 */
export class ProbeHttp {
  readonly exchanges: Exchange[] = []
  private base?: string
  private dc?: string

  constructor(
    private readonly target: ProbeTarget,
    private readonly addresses: ProbeAddresses
  ) {}

  /** The data center once the first request found it. */
  get knownDataCenter(): string | undefined {
    return this.dc
  }

  /** The account's data center: the API key's, or the OAuth metadata endpoint's answer (asked once). */
  async dataCenter(signal: AbortSignal): Promise<string> {
    if (this.dc) return this.dc
    let dc = this.target.dataCenter
    if (dc === undefined) {
      const url = new URL(this.target.metadataUrl)
      const request = { method: 'GET', path: url.pathname } as const
      const answer = await this.exchange(
        'connect: data center',
        'login',
        url,
        request,
        `OAuth ${this.target.token}`,
        signal
      )
      if (answer.status === 401)
        throw new CredentialsRefused('Mailchimp refused the credentials (401): check the token.')
      const metadata = Metadata.safeParse(answer.body)
      if (answer.status !== 200 || !metadata.success) {
        throw new NoAnswerError(`Mailchimp's OAuth metadata did not name a data center (HTTP ${answer.status}).`)
      }
      dc = metadata.data.dc
    }
    if (!DATA_CENTER.test(dc))
      throw new NoAnswerError(`Unexpected data center ${JSON.stringify(dc)}; nothing was sent to it.`)
    this.dc = dc
    this.base = this.target.apiBaseUrl(dc).replace(/\/+$/, '')
    return dc
  }

  /** One Marketing API request, refused before it is sent when it names an address that is not the run's. */
  async send(step: string, request: ProbeRequest, signal: AbortSignal): Promise<ProbeAnswer> {
    this.addresses.assertOwn(request.path, request.body)
    await this.dataCenter(signal)
    const url = new URL(`${this.base}${request.path}`)
    for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value)
    return this.exchange(step, 'api', url, request, `Bearer ${this.target.token}`, signal)
  }

  private async exchange(
    step: string,
    origin: 'login' | 'api',
    url: URL,
    request: Pick<ProbeRequest, 'method' | 'path' | 'body'>,
    authorization: string,
    signal: AbortSignal
  ): Promise<ProbeAnswer> {
    const recorded: Exchange = {
      step,
      request: {
        origin,
        method: request.method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        ...(request.body === undefined ? {} : { body: request.body })
      },
      response: { error: 'not sent' }
    }
    this.exchanges.push(recorded)
    signal.throwIfAborted()
    let response: Response
    try {
      response = await fetch(url, {
        method: request.method,
        headers: {
          authorization,
          accept: 'application/json',
          'user-agent': 'mailchimp-cohort probe',
          ...(request.body === undefined ? {} : { 'content-type': 'application/json' })
        },
        body: request.body === undefined ? undefined : JSON.stringify(request.body),
        redirect: 'manual',
        signal: AbortSignal.any([signal, AbortSignal.timeout(TIMEOUT_MS)])
      })
    } catch (error) {
      const why = signal.aborted ? 'interrupted' : describe(error)
      recorded.response = { error: why }
      if (signal.aborted) throw signal.reason
      throw new NoAnswerError(`No answer from Mailchimp to ${request.method} ${url.pathname}: ${why}.`)
    }
    const text = await response.text()
    const answer: ProbeAnswer = { status: response.status, ...(text ? { body: parse(text) } : {}) }
    recorded.response = answer
    if (response.status >= 300 && response.status < 400) {
      throw new NoAnswerError(`Mailchimp answered with a redirect (${response.status}); it was not followed.`)
    }
    return answer
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text.length > 2000 ? `${text.slice(0, 2000)}…` : text
  }
}

function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause?.code
  const name = (error as { name?: string }).name
  if (name === 'TimeoutError') return `no answer within ${TIMEOUT_MS / 1000} s`
  return cause ?? (error instanceof Error ? error.message : String(error))
}
