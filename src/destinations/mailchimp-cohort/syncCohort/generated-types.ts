// Generated file. DO NOT MODIFY IT BY HAND.

export interface Payload {
  /**
   * The contact's email address. Leave empty to read it from the user property named in the destination's Email Property setting.
   */
  email?: string
  /**
   * The user's properties, where the Email Property setting is looked up: the traits of an identify call, the properties of a track call.
   */
  user_properties?: {
    [k: string]: unknown
  }
  /**
   * The cohort this event is about. Its name is the Mailchimp tag the contact is added to or removed from, unless the audience was created with a Tag Name.
   */
  cohort_name?: string
  /**
   * The id of the Mailchimp tag created for this cohort. Set by Segment; when present it wins over Cohort Name.
   */
  external_audience_id?: string
  /**
   * Whether the contact is in the cohort (true adds the tag, false removes it). Leave unmapped for Engage audiences and Reverse ETL, whose membership Segment works out itself.
   */
  in_cohort?: boolean
  /**
   * The subscription status given to contacts who are not yet in the Mailchimp audience. An existing contact's status is never changed. "Audience default" is Pending (a confirmation email is sent) when the audience requires double opt-in, Subscribed otherwise. "Skip" never creates contacts: events for people missing from the audience fail without retry.
   */
  status_if_new?: 'audience_default' | 'subscribed' | 'pending' | 'transactional' | 'skip'
  /**
   * Contact details to write in Mailchimp, by the audience's merge tag (such as FNAME or LNAME). They are set on contacts the sync creates and updated on existing contacts it adds to the tag (one extra request each), without changing anyone's subscription status. Empty values are skipped, so a blank property never erases what Mailchimp holds. A merge tag the audience does not have fails the event with an error naming it. With Status for New Contacts set to Skip, and for contacts leaving the cohort, nothing is written; the outcome says merge_fields: not_written.
   */
  merge_fields?: {
    [k: string]: unknown
  }
  /**
   * Send events to Mailchimp in batches: up to 500 contacts per Mailchimp request instead of one each.
   */
  enable_batching: boolean
  /**
   * How many events Segment gathers into one batch (10000 at most). Each batch is sent to Mailchimp 500 contacts per request.
   */
  batch_size?: number
  /**
   * The fields whose values every event of one batch shares, so that one batch carries one tag.
   */
  batch_keys?: string[]
}
