// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * The Mailchimp audience to sync into: pick it from your account's audiences, or type its ID (letters and digits, such as "57afe96172"). A cohort can use another audience of the same account (its Mailchimp Audience ID). In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.
   */
  audience_id: string
  /**
   * The name of the user property (trait) that holds the email address, such as "email". Users whose property is missing or not an email address are not synced, and their events say so.
   */
  email_property: string
  /**
   * When on, a user deletion request (for example under GDPR) permanently deletes the contact from the Mailchimp audience. This cannot be undone: Mailchimp erases the contact's data and refuses to re-import that address, which can only come back by signing up again through a Mailchimp form. The request's user id must be the email address. Only this destination's audience is searched: contacts a cohort put into another audience (its Mailchimp Audience ID) are not deleted there. Off by default.
   */
  delete_contacts_on_request?: boolean
}

export interface AudienceSettings {
  /**
   * The Mailchimp tag to sync this cohort into, fewer than 88 characters. Leave empty to use the cohort name. An existing tag with the same name (ignoring letter case) is reused.
   */
  tag_name?: string
  /**
   * The Mailchimp audience this cohort's tag lives in, when it is not the destination's Audience ID: pick one of your account's audiences, or type its ID (letters and digits, such as "57afe96172"). Leave empty to use the destination's Audience ID. In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.
   */
  audience_id?: string
}
