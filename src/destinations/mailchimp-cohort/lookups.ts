import { IntegrationError } from '@segment/actions-core'
import { CACHE_TTL_SECONDS } from './constants'
import { fingerprint, remember } from './mailchimp/cache'
import type { LookupCache } from './mailchimp/cache'
import type { MailchimpClient } from './mailchimp/client'
import type { Audience, Tag } from './mailchimp/schemas'
import type { Telemetry } from './telemetry'
import { checkTagName, isDataCenter, isTagId } from './validation'

/** The status a new contact gets under "Audience default". */
export type AudienceDefault = 'pending' | 'subscribed'

interface TagLookup {
  /** Ask Mailchimp even when the id is cached, e.g. when an operator connects a cohort. */
  fresh?: boolean
  /** Create the tag when the audience has none; otherwise nothing is created and the answer may be undefined. */
  create?: boolean
}

const optInDefault = (audience: Audience): AudienceDefault => (audience.double_optin ? 'pending' : 'subscribed')

/** Mailchimp treats tag names that differ only in letter case as the same tag. */
const foldCase = (name: string) => name.trim().toLowerCase()

/**
 * What the plugin looks up about an account and its audiences, and keeps between batches: the data center, each
 * audience's opt-in default and merge tags, tag ids by name, and tags re-created under a new id. The only code that
 * builds cache keys. Keys never hold a token or an operator's name in clear, only fingerprints of them.
 * One instance serves one batch (or one call of the host); what it caches outlives it.
 */
export class Lookups {
  private readonly defaults = new Map<string, Promise<AudienceDefault>>()

  constructor(
    private readonly client: MailchimpClient,
    private readonly cache: LookupCache,
    private readonly telemetry: Telemetry,
    /** The data center the embedding program knows (an API key's suffix); the metadata lookup is then skipped. */
    private readonly knownDataCenter?: string
  ) {}

  private key(kind: string, ...parts: string[]): string {
    return ['mailchimp-cohort', kind, this.client.account, ...parts].join(':')
  }

  /** The account's data center, from the OAuth metadata endpoint; asked once per token while cached. */
  dataCenter(): Promise<string> {
    if (this.knownDataCenter !== undefined) return Promise.resolve(this.knownDataCenter)
    return remember(
      this.cache,
      this.key('dc'),
      { ttlSeconds: CACHE_TTL_SECONDS.dataCenter, accept: isDataCenter },
      () => this.client.metadataDataCenter()
    )
  }

  /** Pending when the audience asks new contacts to confirm (double opt-in), else subscribed. Read once, cached. */
  audienceDefault(audienceId: string): Promise<AudienceDefault> {
    let status = this.defaults.get(audienceId)
    if (!status) {
      const accept = (value: string | undefined) => value === 'pending' || value === 'subscribed'
      const options = { ttlSeconds: CACHE_TTL_SECONDS.audience, accept }
      status = remember(this.cache, this.key('optin', audienceId), options, async () =>
        optInDefault(await this.client.getAudience(audienceId))
      )
      this.defaults.set(audienceId, status)
    }
    return status
  }

  /**
   * The audience, asked of Mailchimp whatever is cached (when an operator tests the connection). Its opt-in default is
   * kept as `audienceDefault` keeps it, so the first sync that follows need not ask again.
   */
  async audience(audienceId: string): Promise<Audience> {
    const audience = await this.client.getAudience(audienceId)
    const status = optInDefault(audience)
    this.cache.set(this.key('optin', audienceId), status, CACHE_TTL_SECONDS.audience)
    this.defaults.set(audienceId, Promise.resolve(status))
    return audience
  }

  /**
   * The audience's merge tags as Mailchimp spells them, by upper-case tag, and whether they came from the cache (a
   * cached list may predate a field the operator just added). `fresh` asks Mailchimp whatever is cached.
   */
  async mergeTags(audienceId: string, { fresh = false } = {}): Promise<{ tags: Map<string, string>; cached: boolean }> {
    let cached = false
    // Asked only when the cache is consulted, so it also tells where the answer came from.
    const accept = (value: string | undefined) => (cached = value !== undefined && /^\[.*\]$/.test(value))
    const options = { ttlSeconds: CACHE_TTL_SECONDS.audience, accept, fresh }
    const list = await remember(this.cache, this.key('merge-fields', audienceId), options, async () =>
      JSON.stringify((await this.client.mergeFields(audienceId)).map((field) => field.tag))
    )
    return { tags: new Map((JSON.parse(list) as string[]).map((tag) => [tag.toUpperCase(), tag])), cached }
  }

  /**
   * The id of the audience's tag named `name` (ignoring letter case): created when the audience has none and `create`
   * says so, else undefined. Concurrent callers in this process share one lookup; when another worker created the tag
   * first, its tag is used.
   */
  tagId(
    audienceId: string,
    tagName: string,
    { fresh = false, create = false }: TagLookup = {}
  ): Promise<string | undefined> {
    const name = checkTagName(tagName)
    const key = this.key('tag', audienceId, fingerprint(foldCase(name)))
    // A lookup that may create and one that may not answer differently, so they do not share a flight.
    const flightKey = create ? key : `${key}:find`
    const options = { ttlSeconds: CACHE_TTL_SECONDS.tag, accept: isTagId, fresh, flightKey }
    return remember(this.cache, key, options, async () => {
      const found = await this.findTag(audienceId, name)
      if (found) this.telemetry.tag('reused')
      const tag = found ?? (create ? await this.createTag(audienceId, name) : undefined)
      return tag && String(tag.id)
    })
  }

  /**
   * The audience's tag named `name` ignoring letter case, asked of Mailchimp. Should several exist, the oldest (lowest
   * id) wins, so every worker picks the same one.
   */
  async findTag(audienceId: string, name: string): Promise<Tag | undefined> {
    const wanted = foldCase(name)
    let oldest: Tag | undefined
    for await (const page of this.client.tags(audienceId)) {
      for (const tag of page) {
        if (foldCase(tag.name) === wanted && (!oldest || tag.id < oldest.id)) oldest = tag
      }
    }
    return oldest
  }

  /** The id that replaced a tag deleted in Mailchimp, when one was found or created by name since. */
  movedTag(audienceId: string, tagId: string): string | undefined {
    const moved = this.cache.get(this.key('tag-moved', audienceId, tagId))
    return isTagId(moved) ? moved : undefined
  }

  /** Events keep carrying the old id from createAudience; later batches go straight to the new tag. */
  tagMoved(audienceId: string, tagId: string, newId: string): void {
    this.cache.set(this.key('tag-moved', audienceId, tagId), newId, CACHE_TTL_SECONDS.tag)
  }

  private async createTag(audienceId: string, name: string): Promise<Tag> {
    let created: Tag
    try {
      created = await this.client.createTag(audienceId, name)
    } catch (error) {
      // Mailchimp refuses a duplicate name with a 400; the tag a concurrent worker made is the one to use.
      if (error instanceof IntegrationError && error.status === 400) {
        const existing = await this.findTag(audienceId, name)
        if (existing) {
          this.telemetry.tag('reused')
          return existing
        }
      }
      throw error
    }
    // Should Mailchimp accept the same name twice from workers racing each other, all of them settle on the oldest
    // tag and the loser removes the empty one it just made, so the audience keeps one tag per cohort.
    const oldest = await this.findTag(audienceId, name)
    if (!oldest || oldest.id === created.id) {
      this.telemetry.tag('created')
      return created
    }
    await this.client.deleteTag(audienceId, String(created.id)).catch(() => undefined)
    this.telemetry.tag('reused')
    return oldest
  }
}
