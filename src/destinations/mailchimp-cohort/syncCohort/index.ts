import type { ActionDefinition } from '@segment/actions-core'
import type { AudienceSettings, Settings } from '../generated-types'
import type { ResolvedOptions } from '../options'
import { mergeFieldChoices } from './dynamic-fields'
import { fields } from './fields'
import { syncCohortEvents } from './functions'
import type { Payload } from './generated-types'
import { successBody } from './outcomes'

/** The cohort sync: one path for a single event and for a batch, so the two can never drift apart. */
export function syncCohort(options: ResolvedOptions): ActionDefinition<Settings, Payload, AudienceSettings> {
  return {
    title: 'Sync Cohort',
    description:
      'Adds contacts who are in the cohort to its Mailchimp tag and removes the tag from contacts who left, creating missing contacts with the status you choose.',
    // Engage sends audience membership as identify calls or as these two track events; other tracks say nothing.
    defaultSubscription: 'type = "identify" or event = "Audience Entered" or event = "Audience Exited"',
    fields,
    // Reverse ETL: rows added or updated join the tag, deleted rows leave it, as the chosen mode says.
    syncMode: {
      label: 'How to sync the model',
      description:
        'For Reverse ETL models: which row changes add the tag and which remove it. Mirror keeps the tag equal to the model: rows added or updated are tagged, deleted rows are untagged. Engage audiences ignore this.',
      default: 'mirror',
      choices: [
        { label: 'Mirror: tag added and updated rows, untag deleted rows', value: 'mirror' },
        { label: 'Upsert: tag added and updated rows', value: 'upsert' },
        { label: 'Add: tag added rows', value: 'add' },
        { label: 'Update: tag updated rows', value: 'update' },
        { label: 'Delete: untag deleted rows', value: 'delete' }
      ]
    },
    dynamicFields: {
      merge_fields: {
        __keys__: (request, { settings, audienceSettings, auth }) =>
          mergeFieldChoices(request, { settings, audienceSettings, auth }, options)
      }
    },
    perform: async (request, { payload, audienceMembership, ...context }) => {
      const outcomes = await syncCohortEvents(
        request,
        { payloads: [payload], memberships: [audienceMembership], ...context },
        options
      )
      const outcome = outcomes.outcome(0)
      if (!outcome.ok) throw outcome.error
      return successBody(outcome)
    },
    performBatch: async (request, { payload, audienceMembership, ...context }) => {
      const outcomes = await syncCohortEvents(
        request,
        { payloads: payload, memberships: audienceMembership, ...context },
        options
      )
      return outcomes.toMultiStatus()
    }
  }
}
