// A Mailchimp Marketing API stand-in for tests and demos, modelled from Mailchimp's documentation alone: it never
// imports the plugin, so it cannot share the plugin's mistakes.
export { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from './server'
export type {
  AnswerSize,
  AudienceSeed,
  ContactSeed,
  ContactView,
  FaultSpec,
  MailchimpSandbox,
  MemberStatus,
  SandboxCounters,
  SandboxInfo,
  SandboxOptions
} from './types'
