import { defaultValues } from '@segment/actions-core'
import type { Destination, JSONObject, Logger, SegmentEvent, StatsContext } from '@segment/actions-core'

// The host that the sandbox tests (faults, property, security, e2e) share: Engage events, and one batch through
// actions-core's executeBatch with the settings, mapping and auth a host sends. One copy, so that a change to how a
// host drives the action reaches every file that checks the action against the sandbox.

/** The computation key of the Engage audience the events come from; it also names the membership trait. */
const COHORT_KEY = 'power_users'

/** One event's outcome from executeBatch, with the fields of the plugin's answers that the tests read. */
export interface Result {
  status: number
  errormessage?: string
  body?: { result?: string; tag_id?: string; superseded?: boolean; code?: string; merge_fields?: string }
}

/** The outcomes a host resends (429 and 5xx); any other failure is final. */
export const isRetryable = (status: number) => status === 429 || status >= 500

/** How many outcomes had each status, e.g. { 200: 1198, 400: 2 }: a failure shows the mix at a glance. */
export const statusCounts = (results: { status: number }[]) =>
  results.reduce<Record<number, number>>(
    (counts, { status }) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }),
    {}
  )

interface EngageOptions {
  /** Also names the tag as properties.cohort_name, as an event does that the host has no tag id for. */
  cohortName?: string
  /** The audience's computation key; tests that vary the cohort's spelling pass it here. */
  key?: string
  /** The cohort's audience settings, which Engage sends as context.personas.audience_settings. */
  audienceSettings?: { tag_name?: string; audience_id?: string }
}

/**
 * An Engage audience event, as Segment sends it for an identify-based audience: membership in the trait named after
 * the computation key, the tag id (from createAudience) in context.personas when the host has one.
 */
export function engage(
  address: string,
  inCohort: boolean,
  tagId?: string,
  { cohortName, key = COHORT_KEY, audienceSettings }: EngageOptions = {}
): SegmentEvent {
  return {
    type: 'identify',
    traits: { email: address, [key]: inCohort },
    ...(cohortName === undefined ? {} : { properties: { cohort_name: cohortName } }),
    context: {
      personas: {
        computation_class: 'audience',
        computation_key: key,
        ...(tagId === undefined ? {} : { external_audience_id: tagId }),
        ...(audienceSettings === undefined ? {} : { audience_settings: audienceSettings })
      }
    }
  }
}

export interface SyncOptions {
  audienceId: string
  /** The access token, which a host passes in `auth`, not in the settings. */
  token: string
  /** The Email Property setting; 'email' unless the test is about it. */
  emailProperty?: string
  /** Fields mapped on top of the defaults and user properties from the traits. */
  mapping?: JSONObject
  logger?: Logger
  statsContext?: StatsContext
}

/** Sends one batch to syncCohort as a host does; one outcome per event, in order. */
export async function syncBatch<S, A>(
  destination: Destination<S, A>,
  events: SegmentEvent[],
  { audienceId, token, emailProperty = 'email', mapping, logger, statsContext }: SyncOptions
): Promise<Result[]> {
  const results = await destination.executeBatch('syncCohort', {
    events,
    mapping: {
      ...defaultValues(destination.definition.actions.syncCohort.fields),
      user_properties: { '@path': '$.traits' },
      ...mapping
    },
    // A test's destination may be typed for any settings (security's takes hostile ones); these are the plugin's.
    settings: { audience_id: audienceId, email_property: emailProperty } as S,
    auth: { accessToken: token, refreshToken: '' },
    logger,
    statsContext
  })
  return results as Result[]
}
