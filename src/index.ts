import destination from './destinations/mailchimp-cohort'

export { mailchimpCohorts } from './destinations/mailchimp-cohort'
export type { MailchimpEndpoints } from './destinations/mailchimp-cohort/constants'
export type { DestinationOptions } from './destinations/mailchimp-cohort/mailchimp/client'
export type { AudienceSettings, Settings } from './destinations/mailchimp-cohort/generated-types'
export type { Payload as SyncCohortPayload } from './destinations/mailchimp-cohort/syncCohort/generated-types'
export { destination }
export default destination
