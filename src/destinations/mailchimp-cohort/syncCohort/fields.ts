import type { ActionDefinition } from '@segment/actions-core'
import type { Settings } from '../generated-types'
import type { Payload } from './generated-types'

export const DEFAULT_BATCH_SIZE = 1000
export const MAX_BATCH_SIZE = 10_000

export const fields: ActionDefinition<Settings, Payload>['fields'] = {
  email: {
    label: 'Email',
    description:
      "The contact's email address. Leave empty to read it from the user property named in the destination's Email Property setting.",
    type: 'string',
    required: false
  },
  user_properties: {
    label: 'User Properties',
    description:
      "The user's properties, where the Email Property setting is looked up: the traits of an identify call, the properties of a track call.",
    type: 'object',
    required: false,
    default: {
      '@if': {
        exists: { '@path': '$.traits' },
        then: { '@path': '$.traits' },
        else: { '@path': '$.properties' }
      }
    }
  },
  cohort_name: {
    label: 'Cohort Name',
    description:
      'The cohort this event is about. Its name is the Mailchimp tag the contact is added to or removed from, unless the audience was created with a Tag Name.',
    type: 'string',
    required: false,
    default: {
      '@if': {
        exists: { '@path': '$.properties.cohort_name' },
        then: { '@path': '$.properties.cohort_name' },
        else: { '@path': '$.context.personas.computation_key' }
      }
    }
  },
  external_audience_id: {
    label: 'Mailchimp Tag ID',
    description:
      'The id of the Mailchimp tag created for this cohort. Set by Segment; when present it wins over Cohort Name.',
    type: 'string',
    required: false,
    unsafe_hidden: true,
    default: { '@path': '$.context.personas.external_audience_id' }
  },
  in_cohort: {
    label: 'In Cohort',
    description:
      'Whether the contact is in the cohort (true adds the tag, false removes it). Leave unmapped for Engage audiences and Reverse ETL, whose membership Segment works out itself.',
    type: 'boolean',
    required: false,
    default: { '@path': '$.properties.in_cohort' }
  },
  status_if_new: {
    label: 'Status for New Contacts',
    description:
      'The subscription status given to contacts who are not yet in the Mailchimp audience. An existing contact\'s status is never changed. "Audience default" is Pending (a confirmation email is sent) when the audience requires double opt-in, Subscribed otherwise. "Skip" never creates contacts: events for people missing from the audience fail without retry.',
    type: 'string',
    required: false,
    default: 'audience_default',
    choices: [
      { label: 'Audience default (Pending with double opt-in, else Subscribed)', value: 'audience_default' },
      { label: 'Subscribed', value: 'subscribed' },
      { label: 'Pending (sends a confirmation email)', value: 'pending' },
      { label: 'Transactional (no marketing email)', value: 'transactional' },
      { label: 'Skip: never create contacts', value: 'skip' }
    ]
  },
  merge_fields: {
    label: 'Merge Fields',
    description:
      "Contact details to write in Mailchimp, by the audience's merge tag (such as FNAME or LNAME). They are set on contacts the sync creates and updated on existing contacts it adds to the tag (one extra request each), without changing anyone's subscription status. Empty values are skipped, so a blank property never erases what Mailchimp holds. A merge tag the audience does not have fails the event with an error naming it. With Status for New Contacts set to Skip, and for contacts leaving the cohort, nothing is written; the outcome says merge_fields: not_written.",
    type: 'object',
    required: false,
    dynamic: true,
    additionalProperties: true,
    defaultObjectUI: 'keyvalue:only'
  },
  enable_batching: {
    label: 'Batch Events',
    description: 'Send events to Mailchimp in batches: up to 500 contacts per Mailchimp request instead of one each.',
    type: 'boolean',
    required: true,
    default: true
  },
  batch_size: {
    label: 'Batch Size',
    description: `How many events Segment gathers into one batch (${MAX_BATCH_SIZE} at most). Each batch is sent to Mailchimp 500 contacts per request.`,
    type: 'integer',
    required: false,
    default: DEFAULT_BATCH_SIZE,
    minimum: 1,
    maximum: MAX_BATCH_SIZE
  },
  batch_keys: {
    label: 'Batch Keys',
    description: 'The fields whose values every event of one batch shares, so that one batch carries one tag.',
    type: 'string',
    unsafe_hidden: true,
    required: false,
    multiple: true,
    default: ['external_audience_id', 'cohort_name']
  }
}
