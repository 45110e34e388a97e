/**
 * The bench's host: drives the destination through the package's public exports and actions-core's `Destination`, as
 * Segment's integrations service does, in batches of events that carry one cohort.
 */
import { defaultValues, Destination } from '@segment/actions-core'
import type { DestinationDefinition, SegmentEvent } from '@segment/actions-core'
import { pkg } from './package'
import type { MailchimpEndpoints, Settings } from '../src'

export const COHORT_KEY = 'power_users'
/** The cohort's name, and so the Mailchimp tag's. */
export const COHORT = 'Power users'
/** How many events the host gathers into one batch: the action's default batch size. */
const HOST_BATCH_SIZE = 1000
/** Mailchimp's cap on one user's requests in flight. */
export const MAILCHIMP_CONNECTIONS = 10

export interface Outcome {
  status: number
  errormessage?: string
}

export interface Host {
  /** Sends the events in batches of `batchSize`, `concurrency` batches at once; one outcome per event, in order. */
  sync(events: SegmentEvent[], options?: { batchSize?: number; concurrency?: number }): Promise<Outcome[]>
}

export const email = (run: string, n: number) => `${run}.person${n}@mail.bench-shop.dev`

/** An Engage audience event for an identify-based audience, as Segment sends it. */
export function engage(address: string, inCohort: boolean, tagId: string): SegmentEvent {
  return {
    type: 'identify',
    traits: { email: address, [COHORT_KEY]: inCohort },
    context: { personas: { computation_class: 'audience', computation_key: COHORT_KEY, external_audience_id: tagId } }
  }
}

export function destinationFor(endpoints: MailchimpEndpoints): DestinationDefinition<Settings> {
  return pkg.mailchimpCohorts({ endpoints })
}

/**
 * The same definition with an action that does nothing: what actions-core itself costs for a batch with the same
 * fields (mapping, validation, one result per event).
 */
export function noOpDestination(definition: DestinationDefinition<Settings>): DestinationDefinition<Settings> {
  const syncCohort = definition.actions.syncCohort
  return {
    ...definition,
    actions: { syncCohort: { ...syncCohort, perform: () => undefined, performBatch: () => undefined } }
  }
}

/** Connects like a host: testAuthentication, then createAudience for the cohort; returns the tag id. */
export async function connect(definition: DestinationDefinition<Settings>, token: string, audienceId: string) {
  const settings = { audience_id: audienceId, email_property: 'email', oauth: { access_token: token } }
  const destination = new Destination(definition)
  await destination.testAuthentication(settings)
  const created = await destination.createAudience({ settings, audienceName: COHORT, audienceSettings: {} })
  return created.externalId
}

export function host(definition: DestinationDefinition<Settings>, token: string, audienceId: string): Host {
  const destination = new Destination(definition)
  const settings = { audience_id: audienceId, email_property: 'email' }
  const auth = { accessToken: token, refreshToken: '' }

  const defaults = defaultValues(definition.actions.syncCohort.fields)
  const batch = async (events: SegmentEvent[], batchSize: number): Promise<Outcome[]> => {
    const mapping = { ...defaults, user_properties: { '@path': '$.traits' }, batch_size: batchSize }
    const results = await destination.executeBatch('syncCohort', { events, mapping, settings, auth })
    // actions-core keeps every response (body and parsed answer) until the host drops them: this host does, per batch.
    destination.responses.length = 0
    return results as Outcome[]
  }

  return {
    async sync(events, { batchSize = HOST_BATCH_SIZE, concurrency = 1 } = {}) {
      const batches = Array.from({ length: Math.ceil(events.length / batchSize) }, (_, i) =>
        events.slice(i * batchSize, (i + 1) * batchSize)
      )
      const outcomes: Outcome[][] = new Array(batches.length)
      await pkg.eachBounded(batches, concurrency, async (events, i) => {
        outcomes[i] = await batch(events, batchSize)
      })
      return outcomes.flat()
    }
  }
}

/** Throws unless every event landed: a figure of syncs that failed fast would flatter the plugin. */
export function expectAllLanded(outcomes: Outcome[]): void {
  const failed = outcomes.filter((o) => o.status !== 200)
  if (failed.length > 0) throw new Error(`${failed.length} events failed, e.g. ${failed[0].errormessage}`)
}
