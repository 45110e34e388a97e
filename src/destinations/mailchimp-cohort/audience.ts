import { IntegrationError } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { CreateAudienceInput, GetAudienceInput } from '@segment/actions-core/destination-kit'
import type { AudienceSettings, Settings } from './generated-types'
import { connect } from './connection'
import type { ResolvedOptions } from './options'
import { checkAudienceId, checkTagId } from './validation'

/** Proves the token works (which also gives the data center) and that the audience exists in that account. */
export async function testConnection(
  request: RequestClient,
  settings: Settings,
  auth: { accessToken?: string } | undefined,
  options: ResolvedOptions
): Promise<void> {
  const audienceId = checkAudienceId(settings.audience_id)
  const { client } = connect(request, { auth, settings }, options)
  await client.getAudience(audienceId)
}

/**
 * Finds or creates the tag named after the cohort (or the operator's Tag Name) and returns its id. Mailchimp is always
 * asked: an operator connecting a cohort must not get the id of a tag deleted since it was cached.
 */
export async function createCohortTag(
  request: RequestClient,
  input: CreateAudienceInput<Settings, AudienceSettings>,
  options: ResolvedOptions
): Promise<{ externalId: string }> {
  const audienceId = checkAudienceId(input.settings.audience_id)
  const name = input.audienceSettings?.tag_name?.trim() || input.audienceName
  const { lookups } = connect(request, { settings: input.settings, statsContext: input.statsContext }, options)
  return { externalId: (await lookups.tagId(audienceId, name, { fresh: true, create: true })) as string }
}

/** Confirms the tag behind `externalId` still exists in the audience. */
export async function getCohortTag(
  request: RequestClient,
  input: GetAudienceInput<Settings, AudienceSettings>,
  options: ResolvedOptions
): Promise<{ externalId: string }> {
  const audienceId = checkAudienceId(input.settings.audience_id)
  const tagId = checkTagId(input.externalId)
  const { client } = connect(request, { settings: input.settings, statsContext: input.statsContext }, options)
  try {
    await client.getTag(audienceId, tagId)
  } catch (error) {
    // A 404 here may mean the audience itself is gone; then the operator must fix audience_id, not the tag.
    if (error instanceof IntegrationError && error.status === 404) await client.getAudience(audienceId)
    throw error
  }
  return { externalId: tagId }
}
