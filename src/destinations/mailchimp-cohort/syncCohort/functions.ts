import { IntegrationError, InvalidAuthenticationError, PayloadValidationError } from '@segment/actions-core'
import type { RequestClient, StateContext } from '@segment/actions-core'
import { CACHE_TTL_SECONDS, MAX_CONCURRENT_REQUESTS } from '../constants'
import type { AudienceSettings, Settings } from '../generated-types'
import { singleFlight } from '../mailchimp/cache'
import { accessTokenFrom, MailchimpClient } from '../mailchimp/client'
import type { DestinationOptions, NewContact } from '../mailchimp/client'
import type { BatchSubscribeAnswer, TagMembersAnswer } from '../mailchimp/schemas'
import { CohortTag } from '../tags'
import { checkAudienceId } from '../validation'
import type { Payload } from './generated-types'
import { Outcomes } from './outcomes'
import type { Failed, Outcome } from './outcomes'
import { planSync } from './plan'
import type { Chunk, ContactChange, TagPlan } from './plan'

export interface SyncInput {
  payloads: Payload[]
  /** What actions-core resolved for each event (Engage audience events, Reverse ETL sync modes). */
  memberships?: (boolean | undefined)[]
  settings: Settings
  audienceSettings?: AudienceSettings
  auth?: { accessToken?: string }
  stateContext?: StateContext
}

type SyncError = Failed['error']

/** What the batch subscribe call said about one address. */
type Creation =
  | { kind: 'created' | 'exists' | 'unconfirmed' | 'skipped' }
  | { kind: 'compliance' | 'forgotten' | 'refused'; reason: string }

const TAG_MISSING = Symbol('tag missing')
const COMPLIANCE = /compliance state/i
/** A refusal to remove the tag that means the contact does not carry it, so the wanted state holds. */
const NOT_CARRYING =
  /not (a |an )?(member|subscribed|tagged|in|on|part)\b|does ?n['o]t (exist|belong|have)|already removed/i
const FORGOTTEN = /permanently deleted|forgotten/i

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
      stateContext: input.stateContext
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
    error instanceof PayloadValidationError ||
    (error instanceof IntegrationError && error.code === 'AUDIENCE_NOT_FOUND')
  )
}

/** Runs tasks with at most `limit` of them in flight at once. */
async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < tasks.length) await tasks[next++]()
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
}

/** One batch's work: per chunk, create the missing contacts, then add and remove the tag in one call. */
class CohortSync {
  /** Once set (revoked token, unknown audience), contacts not yet settled fail with it and no request is sent. */
  private fatal?: SyncError
  private defaultStatus?: Promise<NewContact['status']>

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
    await runBounded(tasks, MAX_CONCURRENT_REQUESTS)
  }

  private async syncChunk(tag: CohortTag, chunk: Chunk): Promise<void> {
    try {
      const toTag = [...chunk.adds.filter((contact) => contact.statusIfNew === 'skip')]
      const creations = new Map<string, Creation>()
      const creatable = chunk.adds.filter((contact) => contact.statusIfNew !== 'skip')
      if (creatable.length > 0 && this.proceed(creatable)) {
        try {
          const answer = await this.client.addNewContacts(this.audienceId, await this.rows(creatable))
          for (const [key, creation] of creationsFrom(answer, creatable)) creations.set(key, creation)
          for (const contact of creatable) {
            const creation = creations.get(contact.key) ?? { kind: 'unconfirmed' }
            if (creation.kind === 'forgotten' || creation.kind === 'refused') {
              this.outcomes.fail(contact, creationRefused(creation))
            } else {
              // Compliance-state and unconfirmed addresses may still be contacts the tag can go on: Mailchimp decides.
              toTag.push(contact)
            }
          }
        } catch (error) {
          this.failed(creatable, error)
        }
      }
      if ((toTag.length > 0 || chunk.removes.length > 0) && this.proceed([...toTag, ...chunk.removes])) {
        await this.updateTag(tag, toTag, chunk.removes, creations)
      }
    } catch (error) {
      // Anything unforeseen still leaves every contact of the chunk with an outcome.
      this.failed([...chunk.adds, ...chunk.removes], error)
    }
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
        status: contact.statusIfNew === 'audience_default' ? await this.audienceDefault() : statusOf(contact)
      }))
    )
  }

  /** Pending when the audience asks new contacts to confirm (double opt-in), else subscribed. Read once, cached. */
  private audienceDefault(): Promise<NewContact['status']> {
    this.defaultStatus ??= (async () => {
      const key = `mailchimp-cohort:optin:${this.client.account}:${this.audienceId}`
      const cached = this.client.cache.get(key)
      if (cached === 'pending' || cached === 'subscribed') return cached
      const audience = await singleFlight(key, () => this.client.getAudience(this.audienceId))
      const status = audience.double_optin ? 'pending' : 'subscribed'
      this.client.cache.set(key, status, CACHE_TTL_SECONDS.audience)
      return status
    })()
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
      let answer = tagId === undefined ? undefined : await this.sendTagUpdate(tagId, adds, removes)
      if (answer === TAG_MISSING) {
        tagId = await tag.replace(tagId as string)
        // Should the replacement vanish too, its 404 stands.
        answer = tagId === undefined ? undefined : await this.sendTagUpdate(tagId, adds, removes, false)
      }
      if (answer === undefined || answer === TAG_MISSING) {
        // No tag of that name exists and nothing was to be added: nobody carries it.
        for (const contact of removes) this.outcomes.succeed(contact, undefined, 'not_tagged')
        return
      }
      this.settle(answer, tagId as string, adds, removes, creations)
    } catch (error) {
      this.failed([...adds, ...removes], error, tagId)
    }
  }

  private async sendTagUpdate(
    tagId: string,
    adds: ContactChange[],
    removes: ContactChange[],
    tolerateMissingTag = true
  ): Promise<TagMembersAnswer | typeof TAG_MISSING> {
    try {
      return await this.client.updateTagMembers(
        this.audienceId,
        tagId,
        adds.map((contact) => contact.email),
        removes.map((contact) => contact.email)
      )
    } catch (error) {
      if (tolerateMissingTag && error instanceof IntegrationError && error.code === 'TAG_NOT_FOUND') return TAG_MISSING
      throw error
    }
  }

  /** Reads Mailchimp's answer back onto each contact: what it confirmed, and its reason for each address it refused. */
  private settle(
    answer: TagMembersAnswer,
    tagId: string,
    adds: ContactChange[],
    removes: ContactChange[],
    creations: Map<string, Creation>
  ): void {
    const added = new Set(answer.members_added.map((member) => fold(member.email_address)))
    const removed = new Set(answer.members_removed.map((member) => fold(member.email_address)))
    const reasons = new Map<string, string>()
    for (const { email_addresses, error } of answer.errors) {
      for (const email of email_addresses) reasons.set(fold(email), error?.trim() || 'no reason given')
    }

    for (const contact of adds) {
      const creation: Creation = creations.get(contact.key) ?? {
        kind: contact.statusIfNew === 'skip' ? 'skipped' : 'unconfirmed'
      }
      const reason = reasons.get(contact.key)
      if (added.has(contact.key)) {
        this.outcomes.succeed(contact, tagId, creation.kind === 'created' ? 'created_and_added' : 'added')
      } else if (reason !== undefined && /already/i.test(reason)) {
        this.outcomes.succeed(contact, tagId, 'already_tagged')
      } else if (reason === undefined && (creation.kind === 'created' || creation.kind === 'exists')) {
        // Mailchimp confirmed the contact exists and refused nothing: the tag was already on it.
        this.outcomes.succeed(contact, tagId, 'already_tagged')
      } else if (creation.kind === 'compliance') {
        this.outcomes.fail(contact, creationRefused(creation), tagId)
      } else if (creation.kind === 'skipped') {
        this.outcomes.fail(contact, notInAudience(reason), tagId)
      } else {
        this.outcomes.fail(contact, tagRefused(reason), tagId)
      }
    }

    for (const contact of removes) {
      const reason = reasons.get(contact.key)
      if (removed.has(contact.key)) {
        this.outcomes.succeed(contact, tagId, 'removed')
      } else if (reason === undefined || NOT_CARRYING.test(reason)) {
        // Mailchimp ignores addresses that do not carry the tag or are not in the audience: either way it is off.
        this.outcomes.succeed(contact, tagId, 'not_tagged')
      } else {
        this.outcomes.fail(contact, tagRefused(reason), tagId)
      }
    }
  }
}

function fold(email: string): string {
  return email.trim().toLowerCase()
}

function statusOf(contact: ContactChange): NewContact['status'] {
  return contact.statusIfNew as NewContact['status']
}

function creationsFrom(answer: BatchSubscribeAnswer, asked: ContactChange[]): Map<string, Creation> {
  const creations = new Map<string, Creation>()
  for (const member of answer.new_members) creations.set(fold(member.email_address), { kind: 'created' })
  for (const member of answer.updated_members) creations.set(fold(member.email_address), { kind: 'exists' })
  for (const { email_address, error, error_code } of answer.errors) {
    const reason = error?.trim() || 'no reason given'
    const key = fold(email_address)
    if (error_code === 'ERROR_CONTACT_EXISTS') creations.set(key, { kind: 'exists' })
    else if (COMPLIANCE.test(reason)) creations.set(key, { kind: 'compliance', reason })
    else if (FORGOTTEN.test(reason)) creations.set(key, { kind: 'forgotten', reason })
    else creations.set(key, { kind: 'refused', reason })
  }
  const wanted = new Set(asked.map((contact) => contact.key))
  for (const key of creations.keys()) if (!wanted.has(key)) creations.delete(key)
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

function notInAudience(reason: string | undefined): IntegrationError {
  return new IntegrationError(
    'Not tagged: Mailchimp did not confirm the tag for this contact. It ignores addresses that are not in the audience, and Status for New Contacts is Skip, so the plugin created nobody. Add the contact in Mailchimp, or choose another Status for New Contacts.' +
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
