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

/** Looks through every tag of the audience for one whose name matches ignoring letter case. */
export async function findTag(client: MailchimpClient, audienceId: string, name: string): Promise<Tag | undefined> {
  for await (const page of client.tags(audienceId)) {
    const match = page.find((tag) => sameName(tag.name, name))
    if (match) return match
  }
  return undefined
}

/**
 * The id of the tag named `name`, created when the audience has none. Concurrent callers in this process share one
 * lookup; when another worker created the tag first and Mailchimp refuses ours, the tag is looked up again.
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
  try {
    return await client.createTag(audienceId, name)
  } catch (error) {
    // Mailchimp refuses a duplicate name with a 400; the tag a concurrent worker made is the one to use.
    if (error instanceof IntegrationError && error.status === 400) {
      const existing = await findTag(client, audienceId, name)
      if (existing) return existing
    }
    throw error
  }
}

/** Drops a cached tag id once Mailchimp says the tag is gone. */
export function forgetTag(client: MailchimpClient, audienceId: string, tagName: string): void {
  client.cache.delete(cacheKey(client, audienceId, tagName.trim()))
}
