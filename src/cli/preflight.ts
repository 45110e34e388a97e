/**
 * Pre-flight checks: everything that must hold before the first row is sent. Each failure is an error of its own
 * (UsageError: fix the command or the file; TransientError: try again later), and nothing has been sent when it is
 * thrown.
 */
import { createRequestClient } from '@segment/actions-core'
import type { AudienceDestinationDefinition, Destination, DynamicFieldResponse } from '@segment/actions-core'
import { checkTagName } from '../index'
import type { AudienceSettings, Settings } from '../index'
import { beforeSync, TransientError, UsageError } from './errors'
import type { FileIndex } from './row-plan'

export type ConnectionSettings = Settings & { oauth: { access_token: string } }

/** The cohort names the tag: the destination's own tag-name rule decides. */
export function checkCohortName(cohort: string): void {
  try {
    checkTagName(cohort)
  } catch (error) {
    throw new UsageError(`--cohort: ${(error as Error).message}`)
  }
}

/** An address that one file adds and the other removes: the files contradict each other, and no order settles it. */
export function rejectConflicts(files: FileIndex): void {
  const { addresses, examples } = files.conflicts
  if (addresses === 0) return
  const more = addresses > examples.length ? `, and ${addresses - examples.length} more` : ''
  throw new UsageError(
    `${addresses} address${addresses > 1 ? 'es are' : ' is'} both in --file (joining) and in --remove-file (leaving): ${examples.join('; ')}${more}. Nothing was sent. Keep each address in one of the two files.`
  )
}

/**
 * The destination's own connection check (the OAuth metadata, then the audience), read-only. Called directly rather
 * than through actions-core's `testAuthentication`, which rewords every failure as "Credentials are invalid" and so
 * would hide a Mailchimp outage behind a credentials error.
 */
export async function checkConnection(
  definition: AudienceDestinationDefinition<Settings, AudienceSettings>,
  settings: ConnectionSettings
): Promise<void> {
  const check = definition.authentication?.testAuthentication
  if (!check) return
  const request = createRequestClient(definition.extendRequest?.({ settings, payload: undefined }) ?? {})
  try {
    await check(request, { settings, auth: { accessToken: settings.oauth.access_token, refreshToken: '' } })
  } catch (error) {
    throw beforeSync(error, 'Cannot use Mailchimp', 'Nothing was sent; try again later.')
  }
}

/**
 * Every merge tag asked for must be one of the audience's, as the destination's own field lists them: a wrong
 * `--merge-field` would otherwise fail every row.
 */
export async function checkMergeTags(
  destination: Destination<Settings>,
  tags: string[],
  settings: ConnectionSettings
): Promise<void> {
  if (tags.length === 0) return
  const response = (await destination.executeDynamicField('syncCohort', 'merge_fields.__keys__', {
    settings,
    payload: {},
    auth: { accessToken: settings.oauth.access_token, refreshToken: '' }
  })) as DynamicFieldResponse
  if (response.error) throw new TransientError(`${response.error.message} Nothing was sent; try again later.`)
  const known = new Set(response.choices.map((choice) => choice.value.toUpperCase()))
  const unknown = tags.filter((tag) => !known.has(tag.toUpperCase()))
  if (unknown.length > 0) {
    throw new UsageError(
      `--merge-field: audience ${settings.audience_id} has no merge field ${unknown.join(', ')} (it has ${[...known].join(', ') || 'none'}).`
    )
  }
}

/** The tag, created when missing (or checked by the id an earlier run gave, as a host keeps it). */
export async function resolveTag(
  destination: Destination<Settings>,
  settings: ConnectionSettings,
  cohort: string,
  tagId?: string
): Promise<string> {
  try {
    return tagId
      ? (await destination.getAudience({ settings, externalId: tagId })).externalId
      : (await destination.createAudience({ settings, audienceName: cohort, audienceSettings: {} })).externalId
  } catch (error) {
    throw beforeSync(
      error,
      `Cannot create or find the tag ${JSON.stringify(cohort)}`,
      'No contact was sent; run the command again (a tag created meanwhile is reused).'
    )
  }
}
