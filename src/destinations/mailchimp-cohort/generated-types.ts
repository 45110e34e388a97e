// Generated file. DO NOT MODIFY IT BY HAND.

export interface Settings {
  /**
   * The ID of the Mailchimp audience to sync into: letters and digits, such as "57afe96172". In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.
   */
  audience_id: string
  /**
   * The name of the user property (trait) that holds the email address, such as "email". Users whose property is missing or not an email address are not synced, and their events say so.
   */
  email_property: string
}

export interface AudienceSettings {
  /**
   * The Mailchimp tag to sync this cohort into, fewer than 88 characters. Leave empty to use the cohort name. An existing tag with the same name (ignoring letter case) is reused.
   */
  tag_name?: string
}
