import { IntegrationError } from '@segment/actions-core'
import { CACHE_TTL_SECONDS } from './constants'
import { fingerprint, singleFlight } from './mailchimp/cache'
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

export interface ResolveOptions {
  /** Ask Mailchimp even when the id is cached, e.g. when an operator connects a cohort. */
  fresh?: boolean
}

/**
 * The id of the tag named `name`, created when the audience has none. Concurrent callers in this process share one
 * lookup; when another worker created the tag first, its tag is the one used.
 */
export async function resolveTag(
  client: MailchimpClient,
  audienceId: string,
  tagName: string,
  { fresh = false }: ResolveOptions = {}
): Promise<string> {
  const name = checkTagName(tagName)
  const key = cacheKey(client, audienceId, name)
  const cached = fresh ? undefined : client.cache.get(key)
  if (isTagId(cached)) return cached

  const id = await singleFlight(key, async () => {
    const tag = (await findTag(client, audienceId, name)) ?? (await create(client, audienceId, name))
    return String(tag.id)
  })
  client.cache.set(key, id, CACHE_TTL_SECONDS.tag)
  return id
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

/** Drops a cached tag id once Mailchimp says the tag is gone. */
export function forgetTag(client: MailchimpClient, audienceId: string, tagName: string): void {
  client.cache.delete(cacheKey(client, audienceId, tagName))
}
