import { createHash } from 'crypto'
import { IntegrationError } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { z } from 'zod'
import { AUDIENCE_ID_HELP, TAG_PAGE_SIZE } from '../constants'
import type { ResolvedOptions } from '../options'
import { checkAudienceId, checkDataCenter, checkTagId } from '../validation'
import { fingerprint } from './cache'
import { withAccountSlot } from './limits'
import { NO_TELEMETRY } from '../telemetry'
import type { Telemetry } from '../telemetry'
import { isThrottle, mailchimpError, parseJson, redirectRefused, transportError, unreadableAnswer } from './errors'
import type { RequestSubject } from './errors'
import {
  Audience,
  AudiencePage,
  BatchSubscribeAnswer,
  Contact,
  MergeFieldPage,
  NoContent,
  OAuthMetadata,
  Tag,
  TagMemberPage,
  TagMembersAnswer,
  TagPage
} from './schemas'
import type { AudienceSummary, MergeField } from './schemas'
import type { Contact as ContactAnswer } from './schemas'

/** A row of a batch subscribe: a contact to create, if it does not exist yet, with this status. */
export interface NewContact {
  email_address: string
  status: 'subscribed' | 'pending' | 'transactional'
  merge_fields?: MergeFieldValues
}

/** A contact's merge field values by merge tag (`FNAME`, `LNAME`…). */
type MergeFieldValues = Record<string, unknown>

/** What the plugin reads of each audience in `GET /lists`: name, ID and active contacts. */
const AUDIENCE_LIST_FIELDS = 'lists.id,lists.name,lists.stats.member_count,total_items'

/** Mailchimp's detail when a segment id is not a static segment of the audience. */
const STATIC_SEGMENT_MISSING = /static segment with an id of .* does not exist/i

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

interface CallOptions<T> {
  /** The operation, as metrics and logs name it: `batch-subscribe`, `update-tag-members`… */
  endpoint: string
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
  /** Identifies the token (and where it is used) in cache keys and the account's share without revealing it. */
  readonly account: string

  /**
   * @param dataCenter where the account lives: the lookups' cached answer of `metadataDataCenter()`, or what the
   * embedding program knows
   */
  constructor(
    private readonly request: RequestClient,
    private readonly token: string,
    private readonly options: ResolvedOptions,
    private readonly dataCenter: () => Promise<string>,
    private readonly telemetry: Telemetry = NO_TELEMETRY
  ) {
    // Builds pointed at a sandbox and at Mailchimp may share a process: their caches must not mix.
    this.account = fingerprint(options.endpoints.metadataUrl, token)
  }

  /** The account's data center, from the OAuth metadata endpoint (Mailchimp asked every time; lookups cache it). */
  async metadataDataCenter(): Promise<string> {
    const metadata = await this.send(this.options.endpoints.metadataUrl, 'GET', `OAuth ${this.token}`, {
      endpoint: 'oauth-metadata',
      schema: OAuthMetadata
    })
    return checkDataCenter(metadata.dc)
  }

  async getAudience(audienceId: string): Promise<Audience> {
    const id = checkAudienceId(audienceId)
    return this.call('GET', `/lists/${id}`, {
      endpoint: 'get-audience',
      schema: Audience,
      query: { fields: 'id,name,double_optin' },
      subject: audienceSubject(id)
    })
  }

  /** Every audience the token can see, a page of up to 1,000 at a time (the audience picker). */
  async *audiences(): AsyncGenerator<AudienceSummary[]> {
    yield* this.pages('/lists', {
      endpoint: 'list-audiences',
      schema: AudiencePage,
      items: (page) => page.lists,
      query: { fields: AUDIENCE_LIST_FIELDS },
      subject: {}
    })
  }

  /** The first `count` audiences the token can see, and how many there are in all: one request (the unknown-ID hint). */
  async firstAudiences(count: number): Promise<AudiencePage> {
    return this.call('GET', '/lists', {
      endpoint: 'list-audiences',
      schema: AudiencePage,
      query: { fields: AUDIENCE_LIST_FIELDS, count, offset: 0 }
    })
  }

  /** Every tag of the audience, a page of up to 1,000 at a time. */
  async *tags(audienceId: string): AsyncGenerator<Tag[]> {
    const id = checkAudienceId(audienceId)
    yield* this.pages(`/lists/${id}/segments`, {
      endpoint: 'list-tags',
      schema: TagPage,
      items: (page) => page.segments,
      query: { type: 'static', fields: 'segments.id,segments.name,segments.type,total_items' },
      subject: audienceSubject(id)
    })
  }

  /** Creates an empty tag. */
  async createTag(audienceId: string, name: string): Promise<Tag> {
    const id = checkAudienceId(audienceId)
    return this.call('POST', `/lists/${id}/segments`, {
      endpoint: 'create-tag',
      schema: Tag,
      json: { name, static_segment: [] },
      subject: audienceSubject(id)
    })
  }

  /** Deletes a tag; its contacts stay in the audience. */
  async deleteTag(audienceId: string, tagId: string): Promise<void> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    await this.call('DELETE', `/lists/${id}/segments/${tag}`, {
      endpoint: 'delete-tag',
      schema: NoContent,
      subject: tagSubject(id, tag)
    })
  }

  /** One tag by id; a segment that is not static is not a tag and counts as missing. */
  async getTag(audienceId: string, tagId: string): Promise<Tag> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    const found = await this.call('GET', `/lists/${id}/segments/${tag}`, {
      endpoint: 'get-tag',
      schema: Tag,
      query: { fields: 'id,name,type' },
      subject: tagSubject(id, tag)
    })
    if (found.type !== undefined && found.type !== 'static') {
      throw new IntegrationError(tagNotFound(id, tag), 'TAG_NOT_FOUND', 404)
    }
    return found
  }

  /**
   * Creates the contacts that are not in the audience yet, with the status each row gives. `update_existing: false`
   * leaves every existing contact as it is: Mailchimp answers those rows with ERROR_CONTACT_EXISTS and changes nothing.
   */
  async addNewContacts(audienceId: string, contacts: NewContact[]): Promise<BatchSubscribeAnswer> {
    const id = checkAudienceId(audienceId)
    return this.call('POST', `/lists/${id}`, {
      endpoint: 'batch-subscribe',
      schema: BatchSubscribeAnswer,
      // Only mapped merge fields are sent; an audience's required ones must not block every new contact.
      query: { skip_merge_validation: true },
      json: { members: contacts, update_existing: false },
      subject: audienceSubject(id)
    })
  }

  /**
   * Writes merge fields on one existing contact with Mailchimp's member upsert. The body carries `status_if_new` and
   * never `status`: Mailchimp documents that `status_if_new` applies only when it creates the contact, so an existing
   * contact's subscription status stays as it is.
   */
  async updateMergeFields(
    audienceId: string,
    email: string,
    statusIfNew: NewContact['status'],
    mergeFields: MergeFieldValues
  ): Promise<ContactAnswer> {
    const id = checkAudienceId(audienceId)
    return this.call('PUT', `/lists/${id}/members/${subscriberHash(email)}`, {
      endpoint: 'upsert-member',
      schema: Contact,
      query: { skip_merge_validation: true },
      json: { email_address: email, status_if_new: statusIfNew, merge_fields: mergeFields },
      subject: audienceSubject(id)
    })
  }

  /** The audience's merge fields (Mailchimp allows a few dozen; one page of 1,000 holds them all). */
  async mergeFields(audienceId: string): Promise<MergeField[]> {
    const id = checkAudienceId(audienceId)
    const page = await this.call('GET', `/lists/${id}/merge-fields`, {
      endpoint: 'list-merge-fields',
      schema: MergeFieldPage,
      query: {
        count: TAG_PAGE_SIZE,
        fields: 'merge_fields.tag,merge_fields.name,merge_fields.type,merge_fields.required,total_items'
      },
      subject: audienceSubject(id)
    })
    return page.merge_fields
  }

  /** Every address carrying the tag, whatever its status, a page of up to 1,000 at a time. */
  async *tagMembers(audienceId: string, tagId: string): AsyncGenerator<string[]> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    const pages = this.pages(`/lists/${id}/segments/${tag}/members`, {
      endpoint: 'list-tag-members',
      schema: TagMemberPage,
      items: (page) => page.members,
      query: {
        // Without these Mailchimp leaves out unsubscribed, cleaned and transactional contacts that carry the tag.
        include_cleaned: true,
        include_transactional: true,
        include_unsubscribed: true,
        fields: 'members.email_address,total_items'
      },
      subject: tagSubject(id, tag)
    })
    for await (const members of pages) yield members.map((member) => member.email_address)
  }

  /**
   * Permanently deletes a contact: Mailchimp erases it and will never let the API add that address again. Resolves
   * false when the audience has no such contact.
   */
  async deleteContactPermanently(audienceId: string, email: string): Promise<boolean> {
    const id = checkAudienceId(audienceId)
    try {
      await this.call('POST', `/lists/${id}/members/${subscriberHash(email)}/actions/delete-permanent`, {
        endpoint: 'delete-member-permanently',
        schema: NoContent,
        subject: { notFound: 'No such contact.', notFoundCode: 'CONTACT_NOT_FOUND' }
      })
      return true
    } catch (error) {
      if (!(error instanceof IntegrationError && error.code === 'CONTACT_NOT_FOUND')) throw error
      // Mailchimp answers 404 for a missing audience too; that one must not pass for "nothing to delete".
      await this.getAudience(id)
      return false
    }
  }

  /** Adds the tag to some contacts and removes it from others in one call. Mailchimp ignores addresses it does not have. */
  async updateTagMembers(
    audienceId: string,
    tagId: string,
    add: string[],
    remove: string[]
  ): Promise<TagMembersAnswer> {
    const id = checkAudienceId(audienceId)
    const tag = checkTagId(tagId)
    try {
      return await this.call('POST', `/lists/${id}/segments/${tag}`, {
        endpoint: 'update-tag-members',
        schema: TagMembersAnswer,
        json: {
          ...(add.length > 0 ? { members_to_add: add } : {}),
          ...(remove.length > 0 ? { members_to_remove: remove } : {})
        },
        subject: tagSubject(id, tag)
      })
    } catch (error) {
      // A saved (non-static) segment, or one deleted under this id, gets a 400 here instead of a 404.
      if (error instanceof IntegrationError && error.status === 400 && STATIC_SEGMENT_MISSING.test(error.message)) {
        throw new IntegrationError(tagNotFound(id, tag), 'TAG_NOT_FOUND', 404)
      }
      throw error
    }
  }

  /** A listing read page by page, up to 1,000 items a request (Mailchimp's largest `count`), until the last page. */
  private async *pages<P extends { total_items: number }, T>(
    path: string,
    options: Omit<CallOptions<P>, 'json'> & { items: (page: P) => T[] }
  ): AsyncGenerator<T[]> {
    for (let offset = 0; ; offset += TAG_PAGE_SIZE) {
      const page = await this.call('GET', path, {
        endpoint: options.endpoint,
        schema: options.schema,
        query: { ...options.query, count: TAG_PAGE_SIZE, offset },
        subject: options.subject
      })
      const items = options.items(page)
      yield items
      if (items.length < TAG_PAGE_SIZE || offset + TAG_PAGE_SIZE >= page.total_items) return
    }
  }

  /** A Marketing API call. The host comes from a checked data center, `path` only from checked ids. */
  async call<T>(method: Method, path: string, options: CallOptions<T>): Promise<T> {
    const base = this.options.endpoints.apiBaseUrl(await this.dataCenter())
    return this.send(`${base}${path}`, method, `Bearer ${this.token}`, options)
  }

  private async send<T>(url: string, method: Method, authorization: string, options: CallOptions<T>): Promise<T> {
    const { endpoint } = options
    // The query is written here once: given as searchParams, the request client would rebuild the request twice.
    const target = options.query ? `${url}?${queryString(options.query)}` : url
    let response
    try {
      // A slot is held only while the request is in flight, never while waiting on a shared lookup: no deadlock.
      const send = async () => {
        const started = performance.now()
        try {
          const answer = await this.request(target, {
            method,
            json: options.json,
            headers: { authorization, accept: 'application/json' },
            throwHttpErrors: false,
            // A redirect would carry the token to a host nobody checked: it is refused, not followed.
            redirect: 'manual',
            // Large answers (batch results) otherwise never finish reading inside actions-core.
            skipResponseCloning: true,
            timeout: this.options.requestTimeoutMs
          })
          const throttled = isThrottle(answer.status, typeof answer.content === 'string' ? answer.content : '')
          const requestId = answer.headers.get('x-request-id') ?? undefined
          this.telemetry.request(endpoint, {
            status: answer.status,
            ms: performance.now() - started,
            throttled,
            requestId
          })
          return { answer, throttled }
        } catch (error) {
          this.telemetry.request(endpoint, { ms: performance.now() - started, throttled: false })
          throw error
        }
      }
      // A throttled answer shrinks the account's share of this process, so the next requests are not throttled too.
      ;({ answer: response } = await withAccountSlot(
        this.account,
        send,
        (sent) => sent.throttled,
        this.options.maxRequestsInFlight
      ))
    } catch (error) {
      throw transportError(error)
    }
    const body = typeof response.content === 'string' ? response.content : ''
    if (response.status >= 300 && response.status < 400) throw redirectRefused(response.status)
    if (response.status < 200 || response.status >= 300) {
      throw mailchimpError(response.status, body, options.subject, response.headers.get('retry-after'))
    }
    const parsed = options.schema.safeParse(response.status === 204 ? {} : answerOf(response, body))
    if (!parsed.success) throw unreadableAnswer(`${method} ${new URL(url).pathname}`)
    return parsed.data
  }
}

/** The answer's JSON: actions-core has already parsed a JSON body once (`data`), and a batch answer is large. */
function answerOf(response: { data?: unknown }, body: string): unknown {
  return typeof response.data === 'object' && response.data !== null ? response.data : parseJson(body)
}

function queryString(query: Record<string, string | number | boolean>): string {
  return new URLSearchParams(Object.entries(query).map(([name, value]) => [name, String(value)])).toString()
}

/** Mailchimp's id for a contact in member paths: the MD5 of the trimmed, lower-cased address. */
function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex')
}

function audienceNotFound(audienceId: string): string {
  return `Mailchimp has no audience "${audienceId}" in this account. Check the Audience ID setting (audience_id). ${AUDIENCE_ID_HELP}`
}

export function tagNotFound(audienceId: string, tagId: string): string {
  return `Mailchimp tag ${tagId} no longer exists in audience "${audienceId}"; it may have been deleted in Mailchimp.`
}

function audienceSubject(audienceId: string): RequestSubject {
  return { notFound: audienceNotFound(audienceId), notFoundCode: 'AUDIENCE_NOT_FOUND' }
}

function tagSubject(audienceId: string, tagId: string): RequestSubject {
  return { notFound: tagNotFound(audienceId, tagId), notFoundCode: 'TAG_NOT_FOUND' }
}
