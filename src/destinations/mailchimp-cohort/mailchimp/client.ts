import { InvalidAuthenticationError, IntegrationError } from '@segment/actions-core'
import type { RequestClient, StateContext } from '@segment/actions-core'
import type { z } from 'zod'
import {
  AUDIENCE_ID_HELP,
  CACHE_TTL_SECONDS,
  MAILCHIMP_ENDPOINTS,
  REQUEST_TIMEOUT_MS,
  TAG_PAGE_SIZE
} from '../constants'
import type { MailchimpEndpoints } from '../constants'
import { checkAudienceId, checkDataCenter, checkTagId, isDataCenter } from '../validation'
import { fingerprint, lookupCache, singleFlight } from './cache'
import type { LookupCache } from './cache'
import {
  mailchimpError,
  NO_TOKEN_MESSAGE,
  parseJson,
  redirectRefused,
  transportError,
  unreadableAnswer
} from './errors'
import type { RequestSubject } from './errors'
import { Audience, NoContent, OAuthMetadata, Tag, TagPage } from './schemas'

/** Set by the program that embeds the destination, never by an operator's settings. */
export interface DestinationOptions {
  /** Where Mailchimp lives; tests and the sandbox point it at loopback. */
  endpoints?: MailchimpEndpoints
  /** Per-request timeout; defaults to REQUEST_TIMEOUT_MS. */
  requestTimeoutMs?: number
}

export interface ClientOptions extends DestinationOptions {
  /** The host's cross-request cache, when it gives one. */
  stateContext?: StateContext
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

interface CallOptions<T> {
  schema: z.ZodType<T>
  json?: unknown
  query?: Record<string, string | number | boolean>
  subject?: RequestSubject
}

/**
 * The only code that knows Mailchimp's URLs, headers and answer shapes. Callers speak in audiences and tags; every
 * answer is checked with zod, every failure comes back as an actions-core error.
 */
export class MailchimpClient {
  readonly cache: LookupCache
  /** Identifies the token (and where it is used) in cache keys without revealing it. */
  readonly account: string
  private readonly endpoints: MailchimpEndpoints
  private readonly timeout: number

  constructor(
    private readonly request: RequestClient,
    private readonly token: string,
    options: ClientOptions = {}
  ) {
    this.endpoints = options.endpoints ?? MAILCHIMP_ENDPOINTS
    this.timeout = options.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    this.cache = lookupCache(options.stateContext)
    // Builds pointed at a sandbox and at Mailchimp may share a process: their caches must not mix.
    this.account = fingerprint(this.endpoints.metadataUrl, token)
  }

  /** The account's data center, from the OAuth metadata endpoint; asked once per token while cached. */
  async dataCenter(): Promise<string> {
    const key = `mailchimp-cohort:dc:${this.account}`
    const cached = this.cache.get(key)
    if (isDataCenter(cached)) return cached
    const dc = await singleFlight(key, async () => {
      const metadata = await this.send(this.endpoints.metadataUrl, 'GET', `OAuth ${this.token}`, {
        schema: OAuthMetadata
      })
      return checkDataCenter(metadata.dc)
    })
    // Every caller stores it, so each host context that shared the lookup keeps the answer too.
    this.cache.set(key, dc, CACHE_TTL_SECONDS.dataCenter)
    return dc
  }

  async getAudience(audienceId: string): Promise<Audience> {
    const id = checkAudienceId(audienceId)
    return this.call('GET', `/lists/${id}`, {
      schema: Audience,
      query: { fields: 'id,name,double_optin' },
      subject: { notFound: audienceNotFound(id) }
    })
  }

  /** Every tag of the audience, a page of up to 1,000 at a time. */
  async *tags(audienceId: string): AsyncGenerator<Tag[]> {
    const id = checkAudienceId(audienceId)
    for (let offset = 0; ; offset += TAG_PAGE_SIZE) {
      const page = await this.call('GET', `/lists/${id}/segments`, {
        schema: TagPage,
        query: {
          type: 'static',
          count: TAG_PAGE_SIZE,
          offset,
          fields: 'segments.id,segments.name,segments.type,total_items'
        },
        subject: { notFound: audienceNotFound(id) }
      })
      yield page.segments
      if (page.segments.length < TAG_PAGE_SIZE || offset + TAG_PAGE_SIZE >= page.total_items) return
    }
  }

  /** Creates an empty tag. */
  async createTag(audienceId: string, name: string): Promise<Tag> {
    const id = checkAudienceId(audienceId)
    return this.call('POST', `/lists/${id}/segments`, {
      schema: Tag,
      json: { name, static_segment: [] },
      subject: { notFound: audienceNotFound(id) }
    })
  }

  /** Deletes a tag; its contacts stay in the audience. */
  async deleteTag(audienceId: string, tagId: string): Promise<void> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    await this.call('DELETE', `/lists/${id}/segments/${tag}`, {
      schema: NoContent,
      subject: { notFound: tagNotFound(id, tag) }
    })
  }

  /** One tag by id; a segment that is not static is not a tag and counts as missing. */
  async getTag(audienceId: string, tagId: string): Promise<Tag> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    const notFound = tagNotFound(id, tag)
    const found = await this.call('GET', `/lists/${id}/segments/${tag}`, {
      schema: Tag,
      query: { fields: 'id,name,type' },
      subject: { notFound }
    })
    if (found.type !== undefined && found.type !== 'static') throw new IntegrationError(notFound, 'NOT_FOUND', 404)
    return found
  }

  /** A Marketing API call. The host comes from a checked data center, `path` only from checked ids. */
  async call<T>(method: Method, path: string, options: CallOptions<T>): Promise<T> {
    const base = this.endpoints.apiBaseUrl(await this.dataCenter())
    return this.send(`${base}${path}`, method, `Bearer ${this.token}`, options)
  }

  private async send<T>(url: string, method: Method, authorization: string, options: CallOptions<T>): Promise<T> {
    let response
    try {
      response = await this.request(url, {
        method,
        json: options.json,
        searchParams: options.query,
        headers: { authorization, accept: 'application/json' },
        throwHttpErrors: false,
        // A redirect would carry the token to a host nobody checked: it is refused, not followed.
        redirect: 'manual',
        // Large answers (batch results) otherwise never finish reading inside actions-core.
        skipResponseCloning: true,
        timeout: this.timeout
      })
    } catch (error) {
      throw transportError(error)
    }
    const body = typeof response.content === 'string' ? response.content : ''
    if (response.status >= 300 && response.status < 400) throw redirectRefused(response.status)
    if (response.status < 200 || response.status >= 300) {
      throw mailchimpError(response.status, body, options.subject)
    }
    const parsed = options.schema.safeParse(response.status === 204 ? {} : parseJson(body))
    if (!parsed.success) throw unreadableAnswer(`${method} ${new URL(url).pathname}`)
    return parsed.data
  }
}

export function audienceNotFound(audienceId: string): string {
  return `Mailchimp has no audience "${audienceId}" in this account. Check the Audience ID setting (audience_id). ${AUDIENCE_ID_HELP}`
}

export function tagNotFound(audienceId: string, tagId: string): string {
  return `Mailchimp tag ${tagId} no longer exists in audience "${audienceId}"; it may have been deleted in Mailchimp.`
}

/** The host hands the OAuth token to actions as `auth.accessToken` and to audience calls as `settings.oauth`. */
export function accessTokenFrom(auth?: { accessToken?: string }, settings?: unknown): string {
  const oauth = (settings as { oauth?: { access_token?: unknown } } | undefined)?.oauth
  const token = auth?.accessToken ?? (typeof oauth?.access_token === 'string' ? oauth.access_token : undefined)
  if (!token) {
    throw new InvalidAuthenticationError(NO_TOKEN_MESSAGE)
  }
  return token
}
