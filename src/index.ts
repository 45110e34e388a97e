import destination from './destinations/mailchimp-cohort'

export { mailchimpCohorts } from './destinations/mailchimp-cohort'
export type { MailchimpEndpoints } from './destinations/mailchimp-cohort/constants'
export type { DestinationOptions } from './destinations/mailchimp-cohort/options'
export type { AudienceSettings, Settings } from './destinations/mailchimp-cohort/generated-types'
export type { Payload as SyncCohortPayload } from './destinations/mailchimp-cohort/syncCohort/generated-types'
export { destination }
export default destination

/** The destination's pure planner and its tag-name rule: what a sync would send. Tools use them for dry runs. */
export { planSync } from './destinations/mailchimp-cohort/syncCohort/plan'
export { checkEmail, foldEmail } from './destinations/mailchimp-cohort/email'
export type { EmailCheck } from './destinations/mailchimp-cohort/email'
export { checkTagName } from './destinations/mailchimp-cohort/validation'
export type {
  ContactChange,
  Plan,
  PlanInput,
  StatusIfNew,
  TagPlan
} from './destinations/mailchimp-cohort/syncCohort/plan'

/** Runs work over items (or an async stream of them), a bounded number at once: the plugin's, the command's and the bench's. */
export { eachBounded } from './destinations/mailchimp-cohort/mailchimp/limits'

/** Who carries a cohort's tag, read without changing anything: tools diff it against a cohort for a full resync. */
export { readTagMembers, tagMemberPages } from './destinations/mailchimp-cohort/tag-members'
export type { TagMembers, TagMembersInput } from './destinations/mailchimp-cohort/tag-members'
