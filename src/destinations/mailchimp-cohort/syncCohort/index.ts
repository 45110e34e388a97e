import { IntegrationError } from '@segment/actions-core'
import type { ActionDefinition } from '@segment/actions-core'
import type { AudienceSettings, Settings } from '../generated-types'
import type { Payload } from './generated-types'
import { fields } from './fields'

/** The cohort sync. Its fields are the public contract; the sync itself lands with the next issue. */
export function syncCohort(): ActionDefinition<Settings, Payload, AudienceSettings> {
  return {
    title: 'Sync Cohort',
    description:
      'Adds contacts who are in the cohort to its Mailchimp tag and removes the tag from contacts who left, creating missing contacts with the status you choose.',
    defaultSubscription: 'type = "identify" or type = "track"',
    fields,
    perform: () => {
      throw new IntegrationError('Sync Cohort is not available in this version yet.', 'NOT_IMPLEMENTED', 501)
    }
  }
}
