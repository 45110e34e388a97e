import { IntegrationError } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { Settings } from './generated-types'
import { connect } from './connection'
import type { ResolvedOptions } from './options'
import { isEmailAddress } from './email'
import { checkAudienceId } from './validation'

/** What actions-core hands `onDelete`: the user's ids, never their traits. */
interface DeletionInput {
  payload: { userId?: string | null; anonymousId?: string | null }
  settings: Settings
  auth?: { accessToken?: string }
}

/**
 * A deletion request (`onDelete`): permanently deletes the contact, only when the operator turned that on. Mailchimp
 * keeps contacts by email address and the request carries only `userId` and `anonymousId`, so one of them must be the
 * address. actions-core hands `onDelete` no audience settings, so the contact is deleted from the destination's
 * audience (the Audience ID setting) only, never from audiences that single cohorts sync into.
 */
export async function deleteContact(
  request: RequestClient,
  { payload, settings, auth }: DeletionInput,
  options: ResolvedOptions
): Promise<{ output: string }> {
  if (settings.delete_contacts_on_request !== true) {
    return { output: 'Not deleted: "Permanently Delete Contacts on Deletion Requests" is off for this destination.' }
  }
  const email = [payload.userId, payload.anonymousId].find(
    (id): id is string => typeof id === 'string' && isEmailAddress(id.trim())
  )
  if (email === undefined) {
    throw new IntegrationError(
      'Cannot delete from Mailchimp: Mailchimp finds contacts by email address, and neither the userId nor the anonymousId of this deletion request is one. Delete the contact in Mailchimp, or use email addresses as user ids.',
      'NO_EMAIL_TO_DELETE',
      400
    )
  }
  const audienceId = checkAudienceId(settings.audience_id)
  const { client } = connect(request, { auth, settings }, options)
  const deleted = await client.deleteContactPermanently(audienceId, email)
  return {
    output: deleted
      ? `Contact permanently deleted from audience ${audienceId}.`
      : `No contact with this address in audience ${audienceId}: nothing to delete.`
  }
}
