import { createRequestClient } from '@segment/actions-core'
import { USER_AGENT } from './constants'
import { connect } from './connection'
import { resolveOptions } from './options'
import type { DestinationOptions } from './options'
import { checkAudienceId, checkTagName } from './validation'

export interface TagMembersInput {
  /** An OAuth token or an API key (with `options.dataCenter`). */
  token: string
  audienceId: string
  /** The tag's name, matched ignoring letter case as `createAudience` does. */
  tagName: string
}

export interface TagMembers {
  /** The tag's id; absent when the audience has no tag of that name (then nobody carries it). */
  tagId?: string
  /** Every address carrying the tag, whatever the contact's status. */
  emails: string[]
}

/**
 * Who carries a cohort's tag now, a page of up to 1,000 addresses at a time, changing nothing: a tool can hold one
 * page, however large the tag. Nothing is yielded when the audience has no tag of that name (nobody carries it).
 */
export async function* tagMemberPages(
  input: TagMembersInput,
  options: DestinationOptions = {}
): AsyncGenerator<string[]> {
  const audienceId = checkAudienceId(input.audienceId)
  const request = createRequestClient({ headers: { 'user-agent': USER_AGENT } })
  const { client, lookups } = connect(request, { token: input.token }, resolveOptions(options))
  const tag = await lookups.findTag(audienceId, checkTagName(input.tagName))
  if (tag) yield* client.tagMembers(audienceId, String(tag.id))
}

/**
 * Who carries a cohort's tag now, all at once, changing nothing. A full resync ("mirror") diffs this against the
 * cohort to find the contacts to untag; for tags of millions, `tagMemberPages` keeps one page in memory instead.
 */
export async function readTagMembers(input: TagMembersInput, options: DestinationOptions = {}): Promise<TagMembers> {
  const audienceId = checkAudienceId(input.audienceId)
  const request = createRequestClient({ headers: { 'user-agent': USER_AGENT } })
  const { client, lookups } = connect(request, { token: input.token }, resolveOptions(options))
  const tag = await lookups.findTag(audienceId, checkTagName(input.tagName))
  if (!tag) return { emails: [] }
  const emails: string[] = []
  for await (const page of client.tagMembers(audienceId, String(tag.id))) emails.push(...page)
  return { tagId: String(tag.id), emails }
}
