import { defaultValues, InvalidAuthenticationError } from '@segment/actions-core'
import type { AudienceDestinationDefinition, GlobalSetting } from '@segment/actions-core'
import { createCohortTag, getCohortTag, testConnection } from './audience'
import { audienceChoices } from './audiences'
import { deleteContact } from './deletion'
import type { AudienceSettings, Settings } from './generated-types'
import { resolveOptions } from './options'
import type { DestinationOptions } from './options'
import { AUDIENCE_ID_HELP, USER_AGENT } from './constants'
import { NO_TOKEN_MESSAGE, RECONNECT_MESSAGE } from './mailchimp/errors'
import { syncCohort } from './syncCohort'
import { fields as syncCohortFields } from './syncCohort/fields'

const identifyMapping = { ...defaultValues(syncCohortFields), user_properties: { '@path': '$.traits' } }
const trackMapping = { ...defaultValues(syncCohortFields), user_properties: { '@path': '$.properties' } }

/**
 * Builds the destination. The default export uses Mailchimp's real hosts; an embedding program (the sandbox, tests)
 * may point `options.endpoints` elsewhere. Operators never can: endpoints are not a setting.
 */
export function mailchimpCohorts(
  options: DestinationOptions = {}
): AudienceDestinationDefinition<Settings, AudienceSettings> {
  // A wrong option is the embedding program's mistake, refused at once with a TypeError naming it.
  const resolved = resolveOptions(options)
  // The audience picker: actions-core lets a setting or an audience field carry a function that lists choices.
  const pickAudience: GlobalSetting['dynamic'] = (request, { settings, auth, dynamicFieldContext }) =>
    audienceChoices(request, { settings, auth, query: dynamicFieldContext?.query }, resolved)
  return {
    name: 'Mailchimp Cohorts',
    slug: 'actions-mailchimp-cohorts',
    mode: 'cloud',
    description:
      'Sync analytics cohorts into a Mailchimp audience as tags: contacts in the cohort carry the tag, contacts who leave lose it.',

    authentication: {
      scheme: 'oauth2',
      fields: {
        audience_id: {
          label: 'Audience ID',
          description: `The Mailchimp audience to sync into: pick it from your account's audiences, or type its ID (letters and digits, such as "57afe96172"). A cohort can use another audience of the same account (its Mailchimp Audience ID). ${AUDIENCE_ID_HELP}`,
          type: 'string',
          required: true,
          dynamic: pickAudience
        },
        email_property: {
          label: 'Email Property',
          description:
            'The name of the user property (trait) that holds the email address, such as "email". Users whose property is missing or not an email address are not synced, and their events say so.',
          type: 'string',
          required: true,
          default: 'email'
        },
        delete_contacts_on_request: {
          label: 'Permanently Delete Contacts on Deletion Requests',
          description:
            "When on, a user deletion request (for example under GDPR) permanently deletes the contact from the Mailchimp audience. This cannot be undone: Mailchimp erases the contact's data and refuses to re-import that address, which can only come back by signing up again through a Mailchimp form. The request's user id must be the email address. Only this destination's audience is searched: contacts a cohort put into another audience (its Mailchimp Audience ID) are not deleted there. Off by default.",
          type: 'boolean',
          required: false,
          default: false
        }
      },
      testAuthentication: (request, { settings, auth }) => testConnection(request, settings, auth, resolved),
      // Mailchimp tokens never expire and have no refresh token: a 401 means access was revoked, or never given.
      refreshAccessToken: (_request, { auth }) =>
        Promise.reject(new InvalidAuthenticationError(auth?.accessToken ? RECONNECT_MESSAGE : NO_TOKEN_MESSAGE))
    },

    extendRequest: () => ({ headers: { 'user-agent': USER_AGENT } }),

    audienceFields: {
      tag_name: {
        label: 'Tag Name',
        description:
          'The Mailchimp tag to sync this cohort into, fewer than 88 characters. Leave empty to use the cohort name. An existing tag with the same name (ignoring letter case) is reused.',
        type: 'string',
        required: false
      },
      audience_id: {
        label: 'Mailchimp Audience ID',
        description: `The Mailchimp audience this cohort's tag lives in, when it is not the destination's Audience ID: pick one of your account's audiences, or type its ID (letters and digits, such as "57afe96172"). Leave empty to use the destination's Audience ID. ${AUDIENCE_ID_HELP}`,
        type: 'string',
        required: false,
        dynamic: pickAudience
      }
    },

    audienceConfig: {
      mode: { type: 'synced', full_audience_sync: false },
      createAudience: (request, input) => createCohortTag(request, input, resolved),
      getAudience: (request, input) => getCohortTag(request, input, resolved)
    },

    actions: {
      syncCohort: syncCohort(resolved)
    },

    onDelete: (request, data) => deleteContact(request, data, resolved),

    presets: [
      {
        name: 'Sync Engage audience (identify)',
        partnerAction: 'syncCohort',
        subscribe: 'type = "identify"',
        mapping: identifyMapping,
        type: 'automatic'
      },
      {
        name: 'Sync Engage audience (track)',
        partnerAction: 'syncCohort',
        subscribe: 'type = "track" and (event = "Audience Entered" or event = "Audience Exited")',
        mapping: trackMapping,
        type: 'automatic'
      },
      {
        name: 'Audience Entered',
        partnerAction: 'syncCohort',
        mapping: trackMapping,
        type: 'specificEvent',
        eventSlug: 'warehouse_audience_entered_track'
      },
      {
        name: 'Audience Exited',
        partnerAction: 'syncCohort',
        mapping: trackMapping,
        type: 'specificEvent',
        eventSlug: 'warehouse_audience_exited_track'
      },
      {
        name: 'Audience Membership Changed',
        partnerAction: 'syncCohort',
        mapping: identifyMapping,
        type: 'specificEvent',
        eventSlug: 'warehouse_audience_membership_changed_identify'
      }
    ]
  }
}

const destination = mailchimpCohorts()

export default destination
