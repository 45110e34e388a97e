import type { Logger, RequestClient, StateContext, StatsContext } from '@segment/actions-core'
import { connect } from '../connection'
import type { Connection } from '../connection'
import type { AudienceSettings, Settings } from '../generated-types'
import { EVERY_ROW_CREATED } from '../mailchimp/answers'
import type { Creation, Said } from '../mailchimp/answers'
import { eachBounded } from '../mailchimp/limits'
import type { ResolvedOptions } from '../options'
import { NO_TELEMETRY, telemetry } from '../telemetry'
import { audienceFor, explainUnknownAudience } from '../audiences'
import { CohortTag } from './cohort-tag'
import type { Payload } from './generated-types'
import { MergeFields } from './merge-fields'
import { Outcomes } from './outcomes'
import type { ContactOutcome, Failed, Settled } from './outcomes'
import { mayBeCreated, planSync, skipsCreation } from './plan'
import type { Chunk, ContactChange } from './plan'
import { asSyncError, isFatal } from './refusals'
import type { SyncError } from './refusals'
import { failed } from './steps'
import type { StepContext } from './steps'
import { createMissing } from './subscribe'
import { updateTag } from './tag-call'

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
 * Syncs a batch of events into Mailchimp and gives each event its outcome, in the events' order (`Outcomes`).
 * `perform` and `performBatch` both come here, with one event or many. The flow: plan (pure) → per chunk of 500,
 * lookups → batch subscribe → tag call → outcomes, chunks side by side within the account's share of Mailchimp's
 * connections.
 */
export async function syncCohortEvents(
  request: RequestClient,
  input: SyncInput,
  options: ResolvedOptions
): Promise<Outcomes> {
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
    for (const { chunk } of work) outcomes.record({ contacts: contactsOf(chunk), outcome })
  }
  if (sync) {
    const running = sync
    const tags = new Map(plan.tags.map((tag) => [tag, running.tag(tag)]))
    await eachBounded(work, options.maxRequestsInFlight, async ({ tag, chunk }) => {
      for (const settled of await running.chunk(tags.get(tag) as CohortTag, chunk)) outcomes.record(settled)
    })
  }
  if (sync && audience && sync.stoppedBy?.code === 'AUDIENCE_NOT_FOUND') {
    await explainUnknownAudienceIn(outcomes, sync, audience)
  }
  if (reports !== NO_TELEMETRY) reports.batch(outcomes.summary())
  return outcomes
}

/** An unknown audience fails every event with one error; one more request names the audiences the token can see. */
async function explainUnknownAudienceIn(
  outcomes: Outcomes,
  sync: CohortSync,
  audience: ReturnType<typeof audienceFor>
): Promise<void> {
  const unknown = (error: Failed['error']) => error.code === 'AUDIENCE_NOT_FOUND'
  const first = outcomes.findError(unknown)
  if (!first) return
  outcomes.replaceErrors(unknown, (await explainUnknownAudience(sync.client, audience, first)) as Failed['error'])
}

function contactsOf(chunk: Chunk): ContactChange[] {
  return [...chunk.adds, ...chunk.removes]
}

/** No merge field to write on existing contacts: the common case, without the upsert step's machinery. */
const NOTHING_WRITTEN = { written: new Set<ContactChange>(), settled: [] as Settled[] }

/** One batch's work for one audience: the flow of each chunk, its steps in subscribe.ts, merge-fields.ts, tag-call.ts. */
class CohortSync {
  /** Once set (revoked token, unknown audience), no request is sent and the contacts not yet settled fail with it. */
  private fatal?: SyncError
  private readonly mergeFields: MergeFields
  private readonly step: StepContext

  constructor(
    private readonly connection: Connection,
    private readonly audienceId: string,
    private readonly options: ResolvedOptions
  ) {
    this.mergeFields = new MergeFields(connection, audienceId)
    this.step = { connection, audienceId, halted: () => this.fatal }
  }

  get client() {
    return this.connection.client
  }

  /** What stopped the batch, when a revoked token or an unknown audience did. */
  get stoppedBy(): SyncError | undefined {
    return this.fatal
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
      if (this.fatal) return failed([...adds, ...removes], this.fatal)
      const spelled = await this.mergeFields.spell(adds)
      settle(spelled.settled)
      const skipping = spelled.ready.some(skipsCreation)
      const creating = skipping ? spelled.ready.filter(mayBeCreated) : spelled.ready
      const created = await createMissing(this.step, creating, spelled.values, !skipping)
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
      // The joiners the tag call carries: not refused by batch subscribe, and their merge fields written if any.
      const joiners =
        created.creations === EVERY_ROW_CREATED && upserted.settled.length === 0
          ? spelled.ready
          : this.stillJoining(spelled.ready, created.creations, upserted.settled)
      const written = (contact: ContactChange) =>
        upserted.written.has(contact) ||
        (spelled.values.has(contact) && created.creations.get(contact.key)?.kind === 'created')
      settle(await updateTag(this.step, tag, { joiners, leavers: removes, creations: created.creations, written }))
    } catch (caught) {
      // Anything unforeseen still leaves every contact of the chunk with an outcome; those settled keep theirs.
      settle(failed([...adds, ...removes], asSyncError(caught)))
    }
    return done
  }

  private stillJoining(ready: ContactChange[], creations: Said<Creation>, notWritten: Settled[]): ContactChange[] {
    const refused = new Set(notWritten.flatMap(({ contacts }) => contacts))
    return ready.filter(
      (contact) => (contact.statusIfNew === 'skip' || creations.get(contact.key) !== undefined) && !refused.has(contact)
    )
  }
}
