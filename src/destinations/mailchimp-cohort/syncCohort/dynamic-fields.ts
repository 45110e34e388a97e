import type { DynamicFieldResponse, RequestClient } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import { connect } from '../connection'
import type { ResolvedOptions } from '../options'
import { checkAudienceId } from '../validation'

/** The audience's real merge fields, offered as keys of the Merge Fields mapping: "First Name (FNAME)". */
export async function mergeFieldChoices(
  request: RequestClient,
  settings: Settings,
  auth: { accessToken?: string } | undefined,
  options: ResolvedOptions
): Promise<DynamicFieldResponse> {
  try {
    const { client } = connect(request, { auth, settings }, options)
    const fields = await client.mergeFields(checkAudienceId(settings.audience_id))
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
