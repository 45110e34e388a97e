/**
 * The fair floor: a minimal plugin with syncCohort's fields that makes the same requests through the same request
 * client (per 500 contacts, one batch subscribe, then one tag add/remove call; one metadata lookup per process), with
 * up to Mailchimp's 10 requests in flight per process, one 200 outcome per event, and nothing else: no checks, no
 * answer reading, no caches beyond the data center, no retries. Whatever syncCohort costs beyond it is its own.
 */
import { MultiStatusResponse } from '@segment/actions-core'
import type { DestinationDefinition, RequestClient } from '@segment/actions-core'
import { pkg } from './package'
import type { MailchimpEndpoints, Settings, SyncCohortPayload } from '../src'
import { MAILCHIMP_CONNECTIONS } from './host'

const PER_REQUEST = 500
/** syncCohort's default request timeout. */
const REQUEST_TIMEOUT_MS = 60_000

/** Mailchimp's 10 connections, for the whole process: what a plugin with no share logic at all would use. */
function slots(limit: number) {
  let active = 0
  const waiting: (() => void)[] = []
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active < limit) active++
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await work()
    } finally {
      const next = waiting.shift()
      if (next) next()
      else active--
    }
  }
}

export function minimalDestination(
  definition: DestinationDefinition<Settings>,
  endpoints: MailchimpEndpoints
): DestinationDefinition<Settings> {
  const syncCohort = definition.actions.syncCohort
  const slot = slots(MAILCHIMP_CONNECTIONS)
  let base: Promise<string> | undefined

  const performBatch = async (
    request: RequestClient,
    { payload, settings, auth }: { payload: SyncCohortPayload[]; settings: Settings; auth?: { accessToken?: string } }
  ) => {
    const token = auth?.accessToken ?? ''
    // The request options of syncCohort's client, its default timeout included: the same bytes on the wire, the same
    // work in the request client (test/floor.test.ts compares the requests).
    const post = (url: string, json: unknown) =>
      slot(() =>
        request(url, {
          method: 'POST',
          json,
          headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
          throwHttpErrors: false,
          redirect: 'manual',
          skipResponseCloning: true,
          timeout: REQUEST_TIMEOUT_MS
        })
      )
    base ??= slot(() =>
      request(endpoints.metadataUrl, { headers: { authorization: `OAuth ${token}` }, skipResponseCloning: true })
    ).then((response) => endpoints.apiBaseUrl((response.data as { dc: string }).dc))
    const api = `${await base}/lists/${settings.audience_id}`
    const emails = payload.map(
      (event) => event.email ?? ((event.user_properties ?? {}) as Record<string, string>)[settings.email_property]
    )
    const tagId = payload[0]?.external_audience_id
    const chunks = Array.from({ length: Math.ceil(emails.length / PER_REQUEST) }, (_, i) =>
      emails.slice(i * PER_REQUEST, (i + 1) * PER_REQUEST)
    )
    await pkg.eachBounded(chunks, MAILCHIMP_CONNECTIONS, async (chunk) => {
      const members = chunk.map((email) => ({ email_address: email, status: 'subscribed' }))
      // As syncCohort's batch subscribe: only the merge fields sent are checked.
      await post(`${api}?skip_merge_validation=true`, { members, update_existing: false })
      await post(`${api}/segments/${tagId}`, { members_to_add: chunk })
    })
    const response = new MultiStatusResponse()
    emails.forEach((email, index) =>
      response.setSuccessResponseAtIndex(index, { status: 200, sent: { email }, body: { result: 'added' } })
    )
    return response
  }
  return {
    ...definition,
    actions: {
      syncCohort: {
        ...syncCohort,
        perform: () => undefined,
        performBatch
      } as unknown as typeof syncCohort
    }
  }
}
