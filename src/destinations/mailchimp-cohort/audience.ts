import { IntegrationError } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { CreateAudienceInput, GetAudienceInput } from '@segment/actions-core/destination-kit'
import { audienceFor, inAudience } from './audiences'
import type { AudienceSettings, Settings } from './generated-types'
import { connect } from './connection'
import type { ResolvedOptions } from './options'
import { checkTagId } from './validation'

/**
 * Proves the token works (which also gives the data center) and that the audience exists in that account; when it
 * does not, the error names the audiences the token can see. What it learns (the data center, the audience's opt-in
 * default) is kept for the syncs that follow.
 */
export async function testConnection(
  request: RequestClient,
  settings: Settings,
  auth: { accessToken?: string } | undefined,
  options: ResolvedOptions
): Promise<void> {
  const audience = audienceFor(settings)
  const { client, lookups } = connect(request, { auth, settings }, options)
  await inAudience(client, audience, () => lookups.audience(audience.id))
}

/**
 * Finds or creates the tag named after the cohort (or the operator's Tag Name) in the cohort's audience (its own
 * Mailchimp Audience ID, else the destination's) and returns its id. Mailchimp is always asked: an operator connecting
 * a cohort must not get the id of a tag deleted since it was cached.
 */
export async function createCohortTag(
  request: RequestClient,
  input: CreateAudienceInput<Settings, AudienceSettings>,
  options: ResolvedOptions
): Promise<{ externalId: string }> {
  const audience = audienceFor(input.settings, input.audienceSettings)
  const name = input.audienceSettings?.tag_name?.trim() || input.audienceName
  const { client, lookups } = connect(request, { settings: input.settings, statsContext: input.statsContext }, options)
  const tagId = await inAudience(client, audience, () =>
    lookups.tagId(audience.id, name, { fresh: true, create: true })
  )
  return { externalId: tagId as string }
}

/** Confirms the tag behind `externalId` still exists in the cohort's audience. */
export async function getCohortTag(
  request: RequestClient,
  input: GetAudienceInput<Settings, AudienceSettings>,
  options: ResolvedOptions
): Promise<{ externalId: string }> {
  const audience = audienceFor(input.settings, input.audienceSettings)
  const tagId = checkTagId(input.externalId)
  const { client } = connect(request, { settings: input.settings, statsContext: input.statsContext }, options)
  await inAudience(client, audience, async () => {
    try {
      await client.getTag(audience.id, tagId)
    } catch (error) {
      // A 404 here may mean the audience itself is gone; then the operator must fix the audience ID, not the tag.
      if (error instanceof IntegrationError && error.status === 404) await client.getAudience(audience.id)
      throw error
    }
  })
  return { externalId: tagId }
}
