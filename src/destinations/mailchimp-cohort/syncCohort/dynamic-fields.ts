import type { DynamicFieldResponse, RequestClient } from '@segment/actions-core'
import { audienceFor } from '../audiences'
import type { AudienceSettings, Settings } from '../generated-types'
import { connect } from '../connection'
import type { ResolvedOptions } from '../options'

/**
 * The audience's real merge fields, offered as keys of the Merge Fields mapping: "First Name (FNAME)". The audience is
 * the cohort's own when the host hands its audience settings over, else the destination's.
 */
export async function mergeFieldChoices(
  request: RequestClient,
  {
    settings,
    audienceSettings,
    auth
  }: { settings: Settings; audienceSettings?: AudienceSettings; auth?: { accessToken?: string } },
  options: ResolvedOptions
): Promise<DynamicFieldResponse> {
  try {
    const { client } = connect(request, { auth, settings }, options)
    const fields = await client.mergeFields(audienceFor(settings, audienceSettings).id)
    return {
      choices: fields.map((field) => ({
        label: `${field.name} (${field.tag})`,
        value: field.tag,
        description: [field.type, field.required ? 'required' : undefined].filter(Boolean).join(', ') || undefined
      }))
    }
  } catch (error) {
    // The mapping screen shows this message; the operator can still type a merge tag by hand.
    return {
      choices: [],
      error: {
        message: `Could not list the audience's merge fields: ${(error as Error).message}`,
        code: (error as { code?: string }).code ?? 'MERGE_FIELDS_UNAVAILABLE'
      }
    }
  }
}
