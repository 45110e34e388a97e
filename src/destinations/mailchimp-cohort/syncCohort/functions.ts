import { IntegrationError, InvalidAuthenticationError, RetryableError } from '@segment/actions-core'
import type { RequestClient, StateContext } from '@segment/actions-core'
import { CACHE_TTL_SECONDS, MAX_CONCURRENT_REQUESTS } from '../constants'
import type { AudienceSettings, Settings } from '../generated-types'
import { remember } from '../mailchimp/cache'
import { eachBounded, limiter } from '../mailchimp/limits'
import { accessTokenFrom, MailchimpClient } from '../mailchimp/client'
import type { DestinationOptions, NewContact } from '../mailchimp/client'
import type { BatchSubscribeAnswer, TagMembersAnswer } from '../mailchimp/schemas'
import { CohortTag } from '../tags'
import { checkAudienceId } from '../validation'
import type { Payload } from './generated-types'
import { Outcomes } from './outcomes'
import type { Failed, MergeFieldsState, Outcome } from './outcomes'
import { foldEmail } from '../email'
import { planSync } from './plan'
import type { Chunk, ContactChange, TagPlan } from './plan'

interface SyncInput {
  payloads: Payload[]
  /** What actions-core resolved for each event (Engage audience events, Reverse ETL sync modes). */
  memberships?: (boolean | undefined)[]
  settings: Settings
  audienceSettings?: AudienceSettings
  auth?: { accessToken?: string }
  stateContext?: StateContext
}

type SyncError = Failed['error']

/** What the batch subscribe call said about one address that may go on to the tag call. */
type Creation =
  { kind: 'created' | 'exists' | 'unconfirmed' } | { kind: 'compliance' | 'forgotten' | 'refused'; reason: string }

/** Mailchimp's words for a row whose address is already a contact (with `error_code` ERROR_CONTACT_EXISTS). */
const ALREADY_A_CONTACT = /already a list member/i
const COMPLIANCE = /compliance state/i
const FORGOTTEN = /permanently deleted/i
/** A per-address reason of the tag call meaning the tag was already on the contact. */
const ALREADY_TAGGED = /\balready (a member of|in|on|part of|tagged|has)\b/i
/** A per-address reason of the tag call meaning the contact does not carry the tag, so a removal is done. */
const NOT_CARRYING =
  /\bnot (a member of|in|on|part of|tagged with|subscribed to) (the|this) (segment|tag|list|audience)\b|\bdoes ?n['o]t (exist|belong to)\b/i

/**
 * Syncs a batch of events into Mailchimp and gives each event its outcome, in the events' order. `perform` and
 * `performBatch` both come here, with one event or many.
 */
export async function syncCohortEvents(
  request: RequestClient,
  input: SyncInput,
  options: DestinationOptions = {}
): Promise<Outcome[]> {
  const outcomes = new Outcomes(input.payloads.length)
  const plan = planSync({
    payloads: input.payloads,
    memberships: input.memberships,
    emailProperty: input.settings.email_property ?? '',
    tagName: input.audienceSettings?.tag_name
  })
  for (const { index, error } of plan.refused) outcomes.failEvent(index, error)
  if (plan.tags.length === 0) return outcomes.all()

  let sync: CohortSync
  try {
    const audienceId = checkAudienceId(input.settings.audience_id)
    const client = new MailchimpClient(request, accessTokenFrom(input.auth), {
      ...options,
      stateContext: input.stateContext,
      // Every request of the batch, lookups included, shares these slots.
      limit: limiter(MAX_CONCURRENT_REQUESTS)
    })
    sync = new CohortSync(client, audienceId, outcomes)
  } catch (error) {
    for (const contact of plan.tags.flatMap(contactsOf)) outcomes.fail(contact, asSyncError(error))
    return outcomes.all()
  }
  await sync.run(plan.tags)
  return outcomes.all()
}

function contactsOf(plan: TagPlan): ContactChange[] {
  return plan.chunks.flatMap((chunk) => [...chunk.adds, ...chunk.removes])
}

function asSyncError(error: unknown): SyncError {
  if (error instanceof Error && typeof (error as SyncError).status === 'number') return error as SyncError
  return new IntegrationError(
    `Unexpected error while syncing: ${error instanceof Error ? error.message : String(error)}`,
    'UNEXPECTED_ERROR',
    500
  )
}

/** Errors that no other request of the batch can escape: every contact not yet settled gets them. */
function isFatal(error: SyncError): boolean {
  return (
    error instanceof InvalidAuthenticationError ||
    (error instanceof IntegrationError && error.code === 'AUDIENCE_NOT_FOUND')
  )
}

function isMissingTag(error: unknown): boolean {
  return error instanceof IntegrationError && error.code === 'TAG_NOT_FOUND'
}

/** One batch's work: per chunk, create the missing contacts, then add and remove the tag in one call. */
class CohortSync {
  /** Once set (revoked token, unknown audience), contacts not yet settled fail with it and no request is sent. */
  private fatal?: SyncError
  private defaultStatus?: Promise<'pending' | 'subscribed'>
  private mergeTags?: Promise<Map<string, string>>
  private mergeTagsFresh = false
  /** Whether the batch's first read of the merge fields came from the cache rather than from Mailchimp. */
  private mergeTagsCached = false
  /** The changes (one contact in one tag) whose Merge Fields Mailchimp confirmed writing. */
  private readonly mergeWritten = new Set<ContactChange>()

  constructor(
    private readonly client: MailchimpClient,
    private readonly audienceId: string,
    private readonly outcomes: Outcomes
  ) {}

  async run(tags: TagPlan[]): Promise<void> {
    const tasks = tags.flatMap((plan) => {
      const create = plan.chunks.some((chunk) => chunk.adds.length > 0)
      const tag = new CohortTag(this.client, this.audienceId, plan, create)
      return plan.chunks.map((chunk) => () => this.syncChunk(tag, chunk))
    })
    await eachBounded(tasks, MAX_CONCURRENT_REQUESTS, (task) => task())
  }

  private async syncChunk(tag: CohortTag, chunk: Chunk): Promise<void> {
    try {
      const adds = await this.withKnownMergeFields(chunk.adds)
      const creations = await this.createMissing(adds.filter((contact) => contact.statusIfNew !== 'skip'))
      // New contacts got their merge fields in the creation row; the others need their own write.
      const notUpdated = await this.updateMergeFields(
        adds.filter((contact) => {
          // Compliance-state addresses may be contacts (say, unsubscribed): the upsert never subscribes anyone.
          const kind = creations.get(contact.key)?.kind
          return contact.mergeFields && (kind === 'exists' || kind === 'unconfirmed' || kind === 'compliance')
        })
      )
      const toTag = adds.filter(
        (contact) => (contact.statusIfNew === 'skip' || creations.has(contact.key)) && !notUpdated.has(contact.key)
      )
      if ((toTag.length > 0 || chunk.removes.length > 0) && this.proceed([...toTag, ...chunk.removes])) {
        await this.updateTag(tag, toTag, chunk.removes, creations)
      }
    } catch (error) {
      // Anything unforeseen still leaves every contact of the chunk with an outcome.
      this.failed([...chunk.adds, ...chunk.removes], error)
    }
  }

  /**
   * Creates the contacts that are not in the audience yet. Returns what Mailchimp said about each address that may
   * go on to the tag call; the others (refused, permanently deleted, or their request failed) are settled here.
   */
  private async createMissing(contacts: ContactChange[]): Promise<Map<string, Creation>> {
    const creations = new Map<string, Creation>()
    if (contacts.length === 0 || !this.proceed(contacts)) return creations
    let answer: BatchSubscribeAnswer
    try {
      const rows = await this.rows(contacts)
      answer = await this.client.addNewContacts(this.audienceId, rows)
    } catch (error) {
      this.failed(contacts, error)
      return creations
    }
    const said = creationsFrom(answer)
    for (const contact of contacts) {
      const creation = said.get(contact.key) ?? { kind: 'unconfirmed' }
      if (creation.kind === 'created' && contact.mergeFields) this.mergeWritten.add(contact)
      if (creation.kind === 'forgotten' || creation.kind === 'refused') {
        this.outcomes.fail(contact, creationRefused(creation))
      } else {
        // Compliance-state and unconfirmed addresses may still be contacts the tag can go on: the tag call decides.
        creations.set(contact.key, creation)
      }
    }
    return creations
  }

  /**
   * The contacts whose Merge Fields all name merge fields of the audience, keyed by the audience's own merge tags; the
   * others fail here with an error naming the unknown tag. The audience's merge fields are read once, and only when
   * some contact has Merge Fields.
   */
  private async withKnownMergeFields(contacts: ContactChange[]): Promise<ContactChange[]> {
    const carrying = contacts.filter((contact) => contact.mergeFields)
    if (carrying.length === 0) return contacts
    if (!this.proceed(carrying)) return contacts.filter((contact) => !contact.mergeFields)
    const unknownIn = (contact: ContactChange, known: Map<string, string>) =>
      Object.keys(contact.mergeFields ?? {}).filter((tag) => !known.has(tag))
    let known: Map<string, string>
    try {
      known = await this.audienceMergeTags()
    } catch (error) {
      this.failed(carrying, error)
      return contacts.filter((contact) => !contact.mergeFields)
    }
    // A cached list may predate a merge field the operator just added: ask Mailchimp once more before refusing. Should
    // that fail, the list in hand still serves the contacts whose tags it has.
    if (this.mergeTagsCached && carrying.some((contact) => unknownIn(contact, known).length > 0)) {
      const inHand = this.mergeTags
      known = await this.audienceMergeTags(true).catch(() => {
        // Later chunks keep the list in hand rather than the failed read.
        this.mergeTags = inHand
        return known
      })
    }
    return contacts.filter((contact) => {
      if (!contact.mergeFields) return true
      const unknown = unknownIn(contact, known)
      if (unknown.length > 0) {
        this.outcomes.fail(contact, unknownMergeFields(unknown, [...known.values()], this.audienceId))
        return false
      }
      // Sent under the audience's own spelling of each tag.
      const keyed = Object.entries(contact.mergeFields).map(([tag, value]) => [known.get(tag) as string, value])
      contact.mergeFields = Object.fromEntries(keyed)
      return true
    })
  }

  /**
   * The audience's merge tags, by upper-case tag. Read once per batch and cached with the audience's other settings;
   * `fresh` asks Mailchimp again, once per batch at most.
   */
  private audienceMergeTags(fresh = false): Promise<Map<string, string>> {
    if (fresh && !this.mergeTagsFresh) {
      this.mergeTagsFresh = true
      this.mergeTags = undefined
    }
    const key = `mailchimp-cohort:merge-fields:${this.client.account}:${this.audienceId}`
    // Asked only when the cache is consulted (the batch's first read), so it also records where that read came from.
    const accept = (value: string | undefined) => (this.mergeTagsCached = value !== undefined && /^\[.*\]$/.test(value))
    const options = { ttlSeconds: CACHE_TTL_SECONDS.audience, accept, fresh: this.mergeTagsFresh }
    this.mergeTags ??= remember(this.client.cache, key, options, async () =>
      JSON.stringify((await this.client.mergeFields(this.audienceId)).map((field) => field.tag))
    ).then((tags) => new Map((JSON.parse(tags) as string[]).map((tag) => [tag.toUpperCase(), tag])))
    return this.mergeTags
  }

  /**
   * Writes Merge Fields on contacts that already existed (or whose creation Mailchimp did not confirm), one member
   * upsert each: the only documented way to update a contact that leaves its status alone. Returns the contacts whose
   * write failed; they are settled here and not tagged, so their event can be sent again whole.
   */
  private async updateMergeFields(contacts: ContactChange[]): Promise<Set<string>> {
    const notUpdated = new Set<string>()
    if (contacts.length === 0) return notUpdated
    const writes = contacts.map((contact) => async () => {
      if (!this.proceed([contact])) {
        notUpdated.add(contact.key)
        return
      }
      try {
        const statusIfNew = await this.statusFor(contact)
        await this.client.updateMergeFields(this.audienceId, contact.email, statusIfNew, contact.mergeFields ?? {})
        this.mergeWritten.add(contact)
      } catch (error) {
        notUpdated.add(contact.key)
        const syncError = asSyncError(error)
        if (syncError instanceof IntegrationError && !isFatal(syncError) && syncError.status !== undefined) {
          if (syncError.status >= 400 && syncError.status < 500 && syncError.status !== 429) {
            this.outcomes.fail(contact, mergeFieldsRefused(syncError.message))
            return
          }
        }
        this.failed([contact], syncError)
      }
    })
    await eachBounded(writes, MAX_CONCURRENT_REQUESTS, (write) => write())
    return notUpdated
  }

  /** False, after failing them, when a fatal error means these contacts must not be sent. */
  private proceed(contacts: ContactChange[]): boolean {
    if (!this.fatal) return true
    for (const contact of contacts) this.outcomes.fail(contact, this.fatal)
    return false
  }

  private failed(contacts: ContactChange[], error: unknown, tagId?: string): void {
    const syncError = asSyncError(error)
    if (isFatal(syncError)) this.fatal ??= syncError
    for (const contact of contacts) this.outcomes.fail(contact, syncError, tagId)
  }

  /** Batch subscribe rows: each contact with the status it gets should it be new. */
  private async rows(contacts: ContactChange[]): Promise<NewContact[]> {
    return Promise.all(
      contacts.map(async (contact) => ({
        email_address: contact.email,
        status: await this.statusFor(contact),
        ...(contact.mergeFields ? { merge_fields: contact.mergeFields } : {})
      }))
    )
  }

  /** The status the contact gets should Mailchimp create it. */
  private async statusFor(contact: ContactChange): Promise<NewContact['status']> {
    return contact.statusIfNew === 'audience_default'
      ? this.audienceDefault()
      : (contact.statusIfNew as NewContact['status'])
  }

  /** Pending when the audience asks new contacts to confirm (double opt-in), else subscribed. Read once, cached. */
  private audienceDefault(): Promise<'pending' | 'subscribed'> {
    const key = `mailchimp-cohort:optin:${this.client.account}:${this.audienceId}`
    const accept = (value: string | undefined) => value === 'pending' || value === 'subscribed'
    this.defaultStatus ??= remember(
      this.client.cache,
      key,
      { ttlSeconds: CACHE_TTL_SECONDS.audience, accept },
      async () => ((await this.client.getAudience(this.audienceId)).double_optin ? 'pending' : 'subscribed')
    )
    return this.defaultStatus
  }

  /** One add/remove call for the chunk. A tag deleted in Mailchimp is found or re-created by name once, then retried. */
  private async updateTag(
    tag: CohortTag,
    adds: ContactChange[],
    removes: ContactChange[],
    creations: Map<string, Creation>
  ): Promise<void> {
    let tagId: string | undefined
    try {
      tagId = await tag.id()
      let answer: TagMembersAnswer | undefined
      if (tagId !== undefined) {
        try {
          answer = await this.sendTagUpdate(tagId, adds, removes)
        } catch (error) {
          if (!isMissingTag(error)) throw error
          tagId = await tag.replace(tagId)
          // Should the replacement be missing too, that 404 stands.
          if (tagId !== undefined) answer = await this.sendTagUpdate(tagId, adds, removes)
        }
      }
      if (tagId === undefined || answer === undefined) {
        // No tag of that name exists, and none is created for removals only: nobody carries it.
        for (const contact of removes) this.outcomes.succeed(contact, undefined, 'not_tagged', this.mergeState(contact))
        const noTag = new IntegrationError(
          'No Mailchimp tag to add this contact to was found or created.',
          'TAG_NOT_FOUND',
          404
        )
        for (const contact of adds) this.outcomes.fail(contact, noTag)
        return
      }
      this.settle(answer, tagId, adds, removes, creations)
    } catch (error) {
      this.failed([...adds, ...removes], error, tagId)
    }
  }

  private sendTagUpdate(tagId: string, adds: ContactChange[], removes: ContactChange[]): Promise<TagMembersAnswer> {
    return this.client.updateTagMembers(
      this.audienceId,
      tagId,
      adds.map((contact) => contact.email),
      removes.map((contact) => contact.email)
    )
  }

  /** Whether Mailchimp confirmed writing the contact's Merge Fields; nothing when it carries none. */
  private mergeState(contact: ContactChange): MergeFieldsState | undefined {
    if (!contact.mergeFields) return undefined
    return this.mergeWritten.has(contact) ? 'written' : 'not_written'
  }

  /** Reads Mailchimp's answer back onto each contact: what it confirmed, and its reason for each address it refused. */
  private settle(
    answer: TagMembersAnswer,
    tagId: string,
    adds: ContactChange[],
    removes: ContactChange[],
    creations: Map<string, Creation>
  ): void {
    const added = new Set(answer.members_added.map((member) => foldEmail(member.email_address)))
    const removed = new Set(answer.members_removed.map((member) => foldEmail(member.email_address)))
    const reasons = new Map<string, string>()
    for (const { email_addresses, error } of answer.errors) {
      for (const email of email_addresses) reasons.set(foldEmail(email), error?.trim() || 'no reason given')
    }

    for (const contact of adds) {
      const creation = creations.get(contact.key)
      const reason = reasons.get(contact.key)
      const merge = this.mergeState(contact)
      if (added.has(contact.key)) {
        this.outcomes.succeed(contact, tagId, creation?.kind === 'created' ? 'created_and_added' : 'added', merge)
      } else if (reason !== undefined && ALREADY_TAGGED.test(reason)) {
        this.outcomes.succeed(contact, tagId, 'already_tagged', merge)
      } else if (reason === undefined && creation?.kind === 'exists') {
        // Mailchimp confirmed the contact exists and refused nothing: the tag was already on it.
        this.outcomes.succeed(contact, tagId, 'already_tagged', merge)
      } else if (reason === undefined && creation?.kind === 'created') {
        // Just created, so it cannot have had the tag; Mailchimp may not have seen the new contact yet.
        this.outcomes.fail(contact, createdNotTagged(), tagId)
      } else if (creation?.kind === 'compliance') {
        this.outcomes.fail(contact, creationRefused(creation), tagId)
      } else if (creation === undefined) {
        // Only Skip sends contacts the plugin did not try to create.
        this.outcomes.fail(contact, notInAudience(reason), tagId)
      } else {
        this.outcomes.fail(contact, tagRefused(reason), tagId)
      }
    }

    for (const contact of removes) {
      const reason = reasons.get(contact.key)
      if (removed.has(contact.key)) {
        this.outcomes.succeed(contact, tagId, 'removed', this.mergeState(contact))
      } else if (reason === undefined || NOT_CARRYING.test(reason)) {
        // Mailchimp ignores addresses that do not carry the tag or are not in the audience: either way it is off.
        this.outcomes.succeed(contact, tagId, 'not_tagged', this.mergeState(contact))
      } else {
        this.outcomes.fail(contact, tagRefused(reason), tagId)
      }
    }
  }
}

/** What batch subscribe said, by folded address. */
function creationsFrom(answer: BatchSubscribeAnswer): Map<string, Creation> {
  const creations = new Map<string, Creation>()
  for (const member of answer.new_members) creations.set(foldEmail(member.email_address), { kind: 'created' })
  for (const member of answer.updated_members) creations.set(foldEmail(member.email_address), { kind: 'exists' })
  for (const row of answer.errors) {
    const { email_address, error_code } = row
    const reason = rowReason(row)
    const key = foldEmail(email_address)
    if (error_code === 'ERROR_CONTACT_EXISTS' || ALREADY_A_CONTACT.test(reason)) creations.set(key, { kind: 'exists' })
    else if (COMPLIANCE.test(reason)) creations.set(key, { kind: 'compliance', reason })
    else if (FORGOTTEN.test(reason)) creations.set(key, { kind: 'forgotten', reason })
    else creations.set(key, { kind: 'refused', reason })
  }
  return creations
}

function creationRefused(creation: { kind: 'compliance' | 'forgotten' | 'refused'; reason: string }): IntegrationError {
  switch (creation.kind) {
    case 'forgotten':
      return new IntegrationError(
        `Mailchimp will not add this contact: the address was permanently deleted from the audience and cannot be re-imported; the person must sign up again through a Mailchimp form. Mailchimp said: ${creation.reason}`,
        'FORGOTTEN_EMAIL',
        400
      )
    case 'compliance':
      return new IntegrationError(
        `Mailchimp will not add this contact: the address is in a compliance state (unsubscribed, bounced or under compliance review) and is not in the audience. Mailchimp said: ${creation.reason}`,
        'MEMBER_IN_COMPLIANCE_STATE',
        400
      )
    default:
      return new IntegrationError(`Mailchimp refused this contact: ${creation.reason}`, 'EMAIL_REFUSED', 400)
  }
}

/** Mailchimp's reason for a batch subscribe row, with the merge field it names when it names one. */
function rowReason(row: BatchSubscribeAnswer['errors'][number]): string {
  const reason = row.error?.trim() || 'no reason given'
  return row.field ? `${reason} (${row.field}: ${row.field_message ?? 'invalid'})` : reason
}

function unknownMergeFields(unknown: string[], known: string[], audienceId: string): IntegrationError {
  return new IntegrationError(
    `Unknown merge field${unknown.length > 1 ? 's' : ''} ${unknown.map((tag) => JSON.stringify(tag)).join(', ')}: audience "${audienceId}" has ${known.length > 0 ? known.join(', ') : 'no merge fields'}. Fix the Merge Fields mapping, or add the field to the audience in Mailchimp.`,
    'UNKNOWN_MERGE_FIELD',
    400
  )
}

function mergeFieldsRefused(reason: string): IntegrationError {
  return new IntegrationError(
    `Mailchimp did not update this contact's merge fields, so it was not tagged either: ${reason}`,
    'MERGE_FIELDS_REFUSED',
    400
  )
}

function createdNotTagged(): RetryableError {
  return new RetryableError(
    'Mailchimp created this contact but did not confirm the tag; sending the event again will tag it.',
    503
  )
}

function notInAudience(reason: string | undefined): IntegrationError {
  return new IntegrationError(
    "Not tagged: Mailchimp neither added the tag nor refused it. Mailchimp ignores addresses that are not in the audience, and with Status for New Contacts set to Skip the plugin creates nobody; Mailchimp's answer does not tell this apart from a contact that already had the tag. Add the contact in Mailchimp, or choose another Status for New Contacts." +
      (reason !== undefined ? ` Mailchimp said: ${reason}` : ''),
    'CONTACT_NOT_IN_AUDIENCE',
    400
  )
}

function tagRefused(reason: string | undefined): IntegrationError {
  return new IntegrationError(
    reason !== undefined
      ? `Mailchimp did not change this contact's tag: ${reason}`
      : 'Mailchimp neither created nor tagged this contact and gave no reason; it was not synced.',
    'TAG_NOT_CHANGED',
    400
  )
}
