import type { ActionDefinition } from '@segment/actions-core'
import type { AudienceSettings, Settings } from '../generated-types'
import type { DestinationOptions } from '../mailchimp/client'
import { fields } from './fields'
import { syncCohortEvents } from './functions'
import type { Payload } from './generated-types'
import { successBody, toMultiStatus } from './outcomes'

/** The cohort sync: one path for a single event and for a batch, so the two can never drift apart. */
export function syncCohort(options: DestinationOptions = {}): ActionDefinition<Settings, Payload, AudienceSettings> {
  return {
    title: 'Sync Cohort',
    description:
      'Adds contacts who are in the cohort to its Mailchimp tag and removes the tag from contacts who left, creating missing contacts with the status you choose.',
    // Engage sends audience membership as identify calls or as these two track events; other tracks say nothing.
    defaultSubscription: 'type = "identify" or event = "Audience Entered" or event = "Audience Exited"',
    fields,
    perform: async (request, { payload, audienceMembership, settings, audienceSettings, auth, stateContext }) => {
      const [outcome] = await syncCohortEvents(
        request,
        { payloads: [payload], memberships: [audienceMembership], settings, audienceSettings, auth, stateContext },
        options
      )
      if (!outcome.ok) throw outcome.error
      return successBody(outcome)
    },
    performBatch: async (request, { payload, audienceMembership, settings, audienceSettings, auth, stateContext }) => {
      const outcomes = await syncCohortEvents(
        request,
        { payloads: payload, memberships: audienceMembership, settings, audienceSettings, auth, stateContext },
        options
      )
      return toMultiStatus(outcomes)
    }
  }
}
