import { IntegrationError } from '@segment/actions-core'
import { CACHE_TTL_SECONDS } from './constants'
import { fingerprint, remember } from './mailchimp/cache'
import { tagNotFound } from './mailchimp/client'
import type { MailchimpClient } from './mailchimp/client'
import type { Tag } from './mailchimp/schemas'
import { checkTagName, isTagId } from './validation'

/** Mailchimp treats tag names that differ only in letter case as the same tag. */
function foldCase(name: string): string {
  return name.trim().toLowerCase()
}

/** Neither the token nor the operator's tag name appears in a key, only fingerprints of them. */
function cacheKey(client: MailchimpClient, audienceId: string, name: string): string {
  return `mailchimp-cohort:tag:${client.account}:${audienceId}:${fingerprint(foldCase(name))}`
}

/**
 * The audience's tag named `name` ignoring letter case. Should several exist, the oldest (lowest id) wins, so every
 * worker picks the same one.
 */
export async function findTag(client: MailchimpClient, audienceId: string, name: string): Promise<Tag | undefined> {
  const wanted = foldCase(name)
  let oldest: Tag | undefined
  for await (const page of client.tags(audienceId)) {
    for (const tag of page) {
      if (foldCase(tag.name) === wanted && (!oldest || tag.id < oldest.id)) oldest = tag
    }
  }
  return oldest
}

interface ResolveOptions {
  /** Ask Mailchimp even when the id is cached, e.g. when an operator connects a cohort. */
  fresh?: boolean
  /** Create the tag when the audience has none; otherwise nothing is created and the answer may be undefined. */
  create?: boolean
}

/**
 * The id of the tag named `name`: created when the audience has none and `create` says so, else undefined.
 * Concurrent callers in this process share one lookup; when another worker created the tag first, its tag is used.
 */
async function tagIdByName(
  client: MailchimpClient,
  audienceId: string,
  tagName: string,
  { fresh = false, create: creating = false }: ResolveOptions
): Promise<string | undefined> {
  const name = checkTagName(tagName)
  const key = cacheKey(client, audienceId, name)
  // A lookup that may create and one that may not answer differently, so they do not share a flight.
  const flightKey = creating ? key : `${key}:find`
  const options = { ttlSeconds: CACHE_TTL_SECONDS.tag, accept: isTagId, fresh, flightKey }
  return remember(client.cache, key, options, async () => {
    const tag =
      (await findTag(client, audienceId, name)) ?? (creating ? await create(client, audienceId, name) : undefined)
    return tag && String(tag.id)
  })
}

/** The id of the tag named `name`, created when the audience has none. */
export async function resolveTag(
  client: MailchimpClient,
  audienceId: string,
  tagName: string,
  { fresh = false } = {}
): Promise<string> {
  return (await tagIdByName(client, audienceId, tagName, { fresh, create: true })) as string
}

async function create(client: MailchimpClient, audienceId: string, name: string): Promise<Tag> {
  let created: Tag
  try {
    created = await client.createTag(audienceId, name)
  } catch (error) {
    // Mailchimp refuses a duplicate name with a 400; the tag a concurrent worker made is the one to use.
    if (error instanceof IntegrationError && error.status === 400) {
      const existing = await findTag(client, audienceId, name)
      if (existing) return existing
    }
    throw error
  }
  // Should Mailchimp accept the same name twice from workers racing each other, all of them settle on the oldest
  // tag and the loser removes the empty one it just made, so the audience keeps one tag per cohort.
  const oldest = await findTag(client, audienceId, name)
  if (!oldest || oldest.id === created.id) return created
  await client.deleteTag(audienceId, String(created.id)).catch(() => undefined)
  return oldest
}

function movedKey(client: MailchimpClient, audienceId: string, tagId: string): string {
  return `mailchimp-cohort:tag-moved:${client.account}:${audienceId}:${tagId}`
}

/**
 * The tag of one cohort while a batch is synced: its id is looked up once, and should Mailchimp say the tag is gone,
 * it is found again (or re-created) by name once, however many requests noticed.
 */
export class CohortTag {
  private current?: Promise<string | undefined>
  private readonly replacements = new Map<string, Promise<string | undefined>>()

  /**
   * @param known the tag id the events carried (from `createAudience`) and the name to fall back on
   * @param create whether a missing tag is created; a batch that only removes the tag has no use for a new one
   */
  constructor(
    private readonly client: MailchimpClient,
    private readonly audienceId: string,
    private readonly known: { tagId?: string; tagName?: string },
    private readonly create: boolean
  ) {}

  /** The tag's id; undefined when no tag of that name exists and none was to be created, so no contact carries it. */
  id(): Promise<string | undefined> {
    this.current ??= this.lookUp()
    return this.current
  }

  /** Called when Mailchimp says `staleId` does not exist: the id that replaces it, or an error naming the tag. */
  replace(staleId: string): Promise<string | undefined> {
    let replacement = this.replacements.get(staleId)
    if (!replacement) {
      replacement = this.lookUpAgain(staleId)
      this.replacements.set(staleId, replacement)
      this.current = replacement
    }
    return replacement
  }

  private async lookUp(): Promise<string | undefined> {
    const { tagId, tagName } = this.known
    if (tagId !== undefined) {
      const moved = this.client.cache.get(movedKey(this.client, this.audienceId, tagId))
      return isTagId(moved) ? moved : tagId
    }
    return this.byName(tagName ?? '', false)
  }

  private async lookUpAgain(staleId: string): Promise<string | undefined> {
    const { tagId, tagName } = this.known
    if (tagName === undefined) {
      // Nothing to find it by. Blame the audience if it is the audience that is gone, else name the tag.
      await this.client.getAudience(this.audienceId)
      throw new IntegrationError(
        `${tagNotFound(this.audienceId, staleId)} Map Cohort Name so the plugin can find or re-create the tag by name, or recreate the audience in Segment.`,
        'TAG_NOT_FOUND',
        404
      )
    }
    const id = await this.byName(tagName, true)
    // Events keep carrying the old id from createAudience; later batches go straight to the new tag.
    if (tagId !== undefined && id !== undefined) {
      this.client.cache.set(movedKey(this.client, this.audienceId, tagId), id, CACHE_TTL_SECONDS.tag)
    }
    return id
  }

  private byName(name: string, fresh: boolean): Promise<string | undefined> {
    return tagIdByName(this.client, this.audienceId, name, { fresh, create: this.create })
  }
}
