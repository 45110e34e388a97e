import type { Logger, RequestClient, StateContext, StatsContext } from '@segment/actions-core'
import { connect } from '../connection'
import type { Connection } from '../connection'
import type { AudienceSettings, Settings } from '../generated-types'
import {
  creationsFrom,
  EVERY_ROW_CREATED,
  joinVerdict,
  leaveVerdict,
  tagAnswerFrom,
  UNCONFIRMED
} from '../mailchimp/answers'
import type { Creation, Said, TagAnswer } from '../mailchimp/answers'
import type { NewContact } from '../mailchimp/client'
import { eachBounded } from '../mailchimp/limits'
import type { ResolvedOptions } from '../options'
import { NO_TELEMETRY, telemetry } from '../telemetry'
import { audienceFor, explainUnknownAudience } from '../audiences'
import { CohortTag } from './cohort-tag'
import type { Payload } from './generated-types'
import { MergeFields } from './merge-fields'
import type { MergeFieldValues, MergeWrite } from './merge-fields'
import { Outcomes } from './outcomes'
import type { ContactOutcome, Failed, Outcome, Settled } from './outcomes'
import { planSync } from './plan'
import type { Chunk, ContactChange } from './plan'
import { asSyncError, creationRefused, isFatal, isMissingTag, noTagToAdd, notJoined, tagRefused } from './refusals'
import type { SyncError } from './refusals'

interface SyncInput {
  payloads: Payload[]
  /** What actions-core resolved for each event (Engage audience events, Reverse ETL sync modes). */
  memberships?: (boolean | undefined)[]
  settings: Settings
  audienceSettings?: AudienceSettings
  auth?: { accessToken?: string }
  stateContext?: StateContext
  statsContext?: StatsContext
  logger?: Logger
}

/**
 * Syncs a batch of events into Mailchimp and gives each event its outcome, in the events' order. `perform` and
 * `performBatch` both come here, with one event or many. The flow: plan (pure) → per chunk of 500, lookups → batch
 * subscribe → tag call → outcomes, chunks side by side within the account's share of Mailchimp's connections.
 */
export async function syncCohortEvents(
  request: RequestClient,
  input: SyncInput,
  options: ResolvedOptions
): Promise<Outcome[]> {
  const reports = telemetry(input)
  const outcomes = new Outcomes(input.payloads.length)
  const plan = planSync({
    payloads: input.payloads,
    memberships: input.memberships,
    emailProperty: input.settings.email_property ?? '',
    tagName: input.audienceSettings?.tag_name
  })
  for (const { index, error } of plan.refused) outcomes.failEvent(index, error)

  const work = plan.tags.flatMap((tag) => tag.chunks.map((chunk) => ({ tag, chunk })))
  let sync: CohortSync | undefined
  // The batch's audience is the cohort's own (its audience settings), else the destination's.
  let audience: ReturnType<typeof audienceFor> | undefined
  try {
    if (work.length > 0) {
      audience = audienceFor(input.settings, input.audienceSettings)
      sync = new CohortSync(connect(request, { ...input, telemetry: reports }, options), audience.id, options)
    }
  } catch (caught) {
    const outcome: ContactOutcome = { ok: false, error: asSyncError(caught) }
    for (const { chunk } of work) for (const contact of contactsOf(chunk)) outcomes.record({ contact, outcome })
  }
  if (sync) {
    const running = sync
    const tags = new Map(plan.tags.map((tag) => [tag, running.tag(tag)]))
    await eachBounded(work, options.maxRequestsInFlight, async ({ tag, chunk }) => {
      for (const settled of await running.chunk(tags.get(tag) as CohortTag, chunk)) outcomes.record(settled)
    })
  }
  const all = sync && audience ? await withUnknownAudienceExplained(outcomes.all(), sync, audience) : outcomes.all()
  if (reports !== NO_TELEMETRY) reports.batch(outcomes.summary(all))
  return all
}

/** An unknown audience fails every event with one error; one more request names the audiences the token can see. */
async function withUnknownAudienceExplained(
  all: Outcome[],
  sync: CohortSync,
  audience: ReturnType<typeof audienceFor>
): Promise<Outcome[]> {
  const unknown = (outcome: Outcome): outcome is Failed => !outcome.ok && outcome.error.code === 'AUDIENCE_NOT_FOUND'
  const first = all.find(unknown)
  if (!first) return all
  const explained = (await explainUnknownAudience(sync.client, audience, first.error)) as Failed['error']
  return all.map((outcome) => (unknown(outcome) ? { ...outcome, error: explained } : outcome))
}

function contactsOf(chunk: Chunk): ContactChange[] {
  return [...chunk.adds, ...chunk.removes]
}

/** No merge field to write on existing contacts: the common case, without the upsert step's machinery. */
const NOTHING_WRITTEN = { written: new Set<ContactChange>(), settled: [] as Settled[] }

const failed = (contacts: ContactChange[], error: SyncError, tagId?: string): Settled[] =>
  contacts.map((contact) => ({ contact, outcome: { ok: false, error, ...(tagId !== undefined ? { tagId } : {}) } }))

/** One batch's work for one audience. Each step returns what became of the contacts it settled. */
class CohortSync {
  /** Once set (revoked token, unknown audience), no request is sent and the contacts not yet settled fail with it. */
  private fatal?: SyncError
  private readonly mergeFields: MergeFields

  constructor(
    private readonly connection: Connection,
    private readonly audienceId: string,
    private readonly options: ResolvedOptions
  ) {
    this.mergeFields = new MergeFields(connection, audienceId)
  }

  get client() {
    return this.connection.client
  }

  tag(plan: { tagId?: string; tagName?: string; chunks: Chunk[] }): CohortTag {
    const create = plan.chunks.some((chunk) => chunk.adds.length > 0)
    return new CohortTag(this.connection, this.audienceId, plan, create)
  }

  /** One chunk: merge tags checked → missing contacts created → merge fields written → tag added and removed. */
  async chunk(tag: CohortTag, { adds, removes }: Chunk): Promise<Settled[]> {
    const done: Settled[] = []
    const settle = (settled: Settled[]) => {
      for (const result of settled) {
        if (!result.outcome.ok && isFatal(result.outcome.error)) this.fatal ??= result.outcome.error
        done.push(result)
      }
    }
    try {
      const spelled = this.fatal ? undefined : await this.mergeFields.spell(adds)
      if (!spelled) return failed([...adds, ...removes], this.fatal as SyncError)
      settle(spelled.settled)
      const creating = spelled.ready.filter((contact) => contact.statusIfNew !== 'skip')
      const created = await this.createMissing(creating, spelled.values, creating.length === spelled.ready.length)
      settle(created.settled)
      const writes = created.writes.filter((write) => {
        // Compliance-state addresses may be contacts (say, unsubscribed): the upsert never subscribes anyone.
        const kind = created.creations.get(write.contact.key)?.kind
        return kind === 'exists' || kind === 'unconfirmed' || kind === 'compliance'
      })
      const upserted =
        writes.length > 0
          ? await this.mergeFields.upsert(writes, this.options.maxRequestsInFlight, () => this.fatal)
          : NOTHING_WRITTEN
      settle(upserted.settled)
      const notWritten = new Set(upserted.settled.map(({ contact }) => contact))
      const joiners = spelled.ready.filter(
        (contact) =>
          (contact.statusIfNew === 'skip' || created.creations.get(contact.key) !== undefined) &&
          !notWritten.has(contact)
      )
      const written = (contact: ContactChange) =>
        upserted.written.has(contact) ||
        (spelled.values.has(contact) && created.creations.get(contact.key)?.kind === 'created')
      settle(await this.updateTag(tag, { joiners, leavers: removes, creations: created.creations, written }))
    } catch (caught) {
      // Anything unforeseen still leaves every contact of the chunk with an outcome; those settled keep theirs.
      settle(failed([...adds, ...removes], asSyncError(caught)))
    }
    return done
  }

  /**
   * Creates the contacts that are not in the audience yet, each row built once with the status it gets should it be
   * new. Returns what Mailchimp said of each address that may go on to the tag call, the merge-field writes the
   * existing ones still need, and the refused ones settled.
   */
  private async createMissing(
    contacts: ContactChange[],
    values: Map<ContactChange, MergeFieldValues>,
    /** Whether `contacts` are all the chunk's joiners (none kept out by Skip). */
    everyJoiner: boolean
  ): Promise<{ creations: Said<Creation>; writes: MergeWrite[]; settled: Settled[] }> {
    const creations = new Map<string, Creation>()
    const writes: MergeWrite[] = []
    if (contacts.length === 0) return { creations, writes, settled: [] }
    if (this.fatal) return { creations, writes, settled: failed(contacts, this.fatal) }
    let said: Said<Creation>
    try {
      const statusOf = await this.statuses(contacts)
      const rows: NewContact[] = contacts.map((contact) => {
        const merge = values.get(contact)
        const status = statusOf(contact)
        if (merge) writes.push({ contact, values: merge, statusIfNew: status })
        return merge
          ? { email_address: contact.email, status, merge_fields: merge }
          : { email_address: contact.email, status }
      })
      said = creationsFrom(await this.connection.client.addNewContacts(this.audienceId, rows), rows.length)
    } catch (caught) {
      return { creations, writes: [], settled: failed(contacts, asSyncError(caught)) }
    }
    // Every row created: nothing to read address by address, unless Skip kept some joiners out of the rows.
    if (said === EVERY_ROW_CREATED && everyJoiner) return { creations: said, writes, settled: [] }
    const settled: Settled[] = []
    for (const contact of contacts) {
      const creation = said.get(contact.key) ?? UNCONFIRMED
      if (creation.kind === 'forgotten' || creation.kind === 'refused') {
        settled.push({ contact, outcome: { ok: false, error: creationRefused(creation) } })
      } else {
        // Compliance-state and unconfirmed addresses may still be contacts the tag can go on: the tag call decides.
        creations.set(contact.key, creation)
      }
    }
    return { creations, writes, settled }
  }

  /** The status each contact gets should Mailchimp create it; the audience's default is read only when needed. */
  private async statuses(contacts: ContactChange[]): Promise<(contact: ContactChange) => NewContact['status']> {
    const fallback = contacts.some((contact) => contact.statusIfNew === 'audience_default')
      ? await this.connection.lookups.audienceDefault(this.audienceId)
      : 'subscribed'
    return (contact) =>
      contact.statusIfNew === 'audience_default' ? fallback : (contact.statusIfNew as NewContact['status'])
  }

  /** One add/remove call for the chunk. A tag deleted in Mailchimp is found or re-created by name once, then retried. */
  private async updateTag(
    tag: CohortTag,
    change: {
      joiners: ContactChange[]
      leavers: ContactChange[]
      creations: Said<Creation>
      written: (contact: ContactChange) => boolean
    }
  ): Promise<Settled[]> {
    const { joiners, leavers } = change
    if (joiners.length === 0 && leavers.length === 0) return []
    if (this.fatal) return failed([...joiners, ...leavers], this.fatal)
    let tagId: string | undefined
    try {
      tagId = await tag.id()
      let answer: TagAnswer | undefined
      if (tagId !== undefined) {
        try {
          answer = await this.sendTagUpdate(tagId, joiners, leavers)
        } catch (error) {
          if (!isMissingTag(error)) throw error
          tagId = await tag.replace(tagId)
          // Should the replacement be missing too, that 404 stands.
          if (tagId !== undefined) answer = await this.sendTagUpdate(tagId, joiners, leavers)
        }
      }
      if (tagId === undefined || answer === undefined) {
        // No tag of that name exists, and none is created for removals only: nobody carries it.
        const notTagged = leavers.map((contact) => this.succeeded(contact, 'not_tagged', change.written))
        return [...notTagged, ...failed(joiners, noTagToAdd())]
      }
      return this.settleTag(answer, tagId, change)
    } catch (caught) {
      return failed([...joiners, ...leavers], asSyncError(caught), tagId)
    }
  }

  private async sendTagUpdate(tagId: string, joiners: ContactChange[], leavers: ContactChange[]): Promise<TagAnswer> {
    const add = joiners.map((contact) => contact.email)
    const remove = leavers.map((contact) => contact.email)
    const answer = await this.connection.client.updateTagMembers(this.audienceId, tagId, add, remove)
    return tagAnswerFrom(answer, { add: add.length, remove: remove.length })
  }

  /** Reads Mailchimp's answer back onto each contact: what it confirmed, and its reason for each address it refused. */
  private settleTag(
    answer: TagAnswer,
    tagId: string,
    { joiners, leavers, creations, written }: Parameters<CohortSync['updateTag']>[1]
  ): Settled[] {
    const settled: Settled[] = []
    for (const contact of joiners) {
      const verdict = joinVerdict(contact.key, creations.get(contact.key), answer)
      settled.push(
        verdict.ok
          ? this.succeeded(contact, verdict.result, written, tagId)
          : { contact, outcome: { ok: false, error: notJoined(verdict), tagId } }
      )
    }
    for (const contact of leavers) {
      const verdict = leaveVerdict(contact.key, answer)
      settled.push(
        verdict.ok
          ? this.succeeded(contact, verdict.result, written, tagId)
          : { contact, outcome: { ok: false, error: tagRefused(verdict.reason), tagId } }
      )
    }
    return settled
  }

  private succeeded(
    contact: ContactChange,
    result: Extract<ContactOutcome, { ok: true }>['result'],
    written: (contact: ContactChange) => boolean,
    tagId?: string
  ): Settled {
    const outcome: ContactOutcome = { ok: true, result, tagId }
    // For a contact that carried Merge Fields: whether Mailchimp confirmed writing them.
    if (contact.mergeFields) outcome.mergeFields = written(contact) ? 'written' : 'not_written'
    return { contact, outcome }
  }
}
