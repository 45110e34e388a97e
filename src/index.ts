import destination from './destinations/mailchimp-cohort'

export { mailchimpCohorts } from './destinations/mailchimp-cohort'
export type { MailchimpEndpoints } from './destinations/mailchimp-cohort/constants'
export type { DestinationOptions } from './destinations/mailchimp-cohort/mailchimp/client'
export type { AudienceSettings, Settings } from './destinations/mailchimp-cohort/generated-types'
export type { Payload as SyncCohortPayload } from './destinations/mailchimp-cohort/syncCohort/generated-types'
export { destination }
export default destination

/** The destination's pure planner and its tag-name rule: what a sync would send. Tools use them for dry runs. */
export { foldEmail, planSync } from './destinations/mailchimp-cohort/syncCohort/plan'
export { checkTagName } from './destinations/mailchimp-cohort/validation'
export type { ContactChange, Plan, PlanInput, TagPlan } from './destinations/mailchimp-cohort/syncCohort/plan'

/** Who carries a cohort's tag, read without changing anything: tools diff it against a cohort for a full resync. */
export { readTagMembers } from './destinations/mailchimp-cohort/tag-members'
export type { TagMembers, TagMembersInput } from './destinations/mailchimp-cohort/tag-members'
