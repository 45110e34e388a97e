import { IntegrationError } from '@segment/actions-core'
import { CACHE_TTL_SECONDS } from './constants'
import { singleFlight } from './mailchimp/cache'
import type { MailchimpClient } from './mailchimp/client'
import type { Tag } from './mailchimp/schemas'
import { checkTagName } from './validation'

/** Mailchimp treats tag names that differ only in letter case as the same tag. */
function sameName(a: string, b: string): boolean {
  return a.trim().toLowerCase() === b.trim().toLowerCase()
}

function cacheKey(client: MailchimpClient, audienceId: string, name: string): string {
  return `mailchimp-cohort:tag:${client.account}:${audienceId}:${name.toLowerCase()}`
}

/**
 * The audience's tags whose names match ignoring letter case, oldest (lowest id) first. With `firstOnly` the paging
 * stops at the first page that has a match.
 */
async function matchingTags(client: MailchimpClient, audienceId: string, name: string, firstOnly: boolean) {
  const matches: Tag[] = []
  for await (const page of client.tags(audienceId)) {
    matches.push(...page.filter((tag) => sameName(tag.name, name)))
    if (firstOnly && matches.length > 0) break
  }
  return matches.sort((a, b) => a.id - b.id)
}

/** The tag whose name matches ignoring letter case, if the audience has one. */
export async function findTag(client: MailchimpClient, audienceId: string, name: string): Promise<Tag | undefined> {
  const [first] = await matchingTags(client, audienceId, name, true)
  return first
}

/**
 * The id of the tag named `name`, created when the audience has none. Concurrent callers in this process share one
 * lookup; when another worker created the tag first, its tag is the one used.
 */
export async function resolveTag(client: MailchimpClient, audienceId: string, tagName: string): Promise<string> {
  const name = checkTagName(tagName)
  const key = cacheKey(client, audienceId, name)
  const cached = client.cache.get(key)
  if (cached) return cached

  return singleFlight(key, async () => {
    const tag = (await findTag(client, audienceId, name)) ?? (await createOrFind(client, audienceId, name))
    const id = String(tag.id)
    client.cache.set(key, id, CACHE_TTL_SECONDS.tag)
    return id
  })
}

async function createOrFind(client: MailchimpClient, audienceId: string, name: string): Promise<Tag> {
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
  const [oldest] = await matchingTags(client, audienceId, name, false)
  if (!oldest || oldest.id === created.id) return created
  await client.deleteTag(audienceId, String(created.id)).catch(() => undefined)
  return oldest
}

/** Drops a cached tag id once Mailchimp says the tag is gone. */
export function forgetTag(client: MailchimpClient, audienceId: string, tagName: string): void {
  client.cache.delete(cacheKey(client, audienceId, tagName.trim()))
}
