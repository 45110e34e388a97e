import { createTestEvent, createTestIntegration } from '@segment/actions-core'
import nock from 'nock'
import type { JSONObject } from '@segment/actions-core'
import definition from '../src'
import type { Settings } from '../src'
import { subscribeAnswer, tagAnswer } from './answers'
import type { MemberStatus } from './answers'
import { catalogTestData } from './catalog-test-data'
import { API, AUDIENCE_ID, LOGIN, TOKEN } from './helpers'

/**
 * The catalog's snapshot tests: each action is fed test data made as the catalog makes it (`catalogTestData`,
 * seeded, so stable), with required fields only and with all fields, and every request it makes is recorded. Where
 * the generated value is one the plugin refuses (an audience ID with symbols, a tag id that is not a number, a batch
 * size below 1, merge fields the audience does not have), the snapshot first records that refusal, then the
 * requests made once those values are valid.
 */
const testDestination = createTestIntegration(definition)
const slug = definition.slug ?? 'actions-mailchimp-cohorts'

type Sent = { method: string; path: string; body?: unknown }

/** Mailchimp answering every call the plugin makes, confirming what was asked and recording each request. */
function recordingMailchimp(): Sent[] {
  const sent: Sent[] = []
  const record = (method: string, uri: string, body: unknown) =>
    sent.push({ method, path: uri, ...(body === '' || body === undefined ? {} : { body }) })
  nock(LOGIN)
    .persist()
    .get(/.*/)
    .reply(function (uri) {
      record('GET', uri, undefined)
      expect(this.req.headers.authorization).toBe(`OAuth ${TOKEN}`)
      return [200, { dc: 'us6' }]
    })
  nock(API)
    .persist()
    .get(/.*/)
    .reply((uri) => {
      record('GET', uri, undefined)
      if (uri.includes('/segments')) return [200, { segments: [], total_items: 0 }]
      if (uri.includes('/merge-fields')) {
        // A new audience's merge fields, as Mailchimp creates them.
        const tags = ['FNAME', 'LNAME', 'ADDRESS', 'PHONE', 'BIRTHDAY']
        return [200, { merge_fields: tags.map((tag) => ({ tag, name: tag, type: 'text' })), total_items: tags.length }]
      }
      return [200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false }]
    })
    .post(/.*/)
    .reply((uri, body) => {
      record('POST', uri, body)
      const path = new URL(uri, 'https://x').pathname
      if (path.endsWith('/segments')) return [200, { id: 4242, name: (body as { name: string }).name, type: 'static' }]
      if (/\/segments\/\d+$/.test(path)) {
        const { members_to_add = [], members_to_remove = [] } = body as Record<string, string[]>
        return [200, tagAnswer({ added: members_to_add, removed: members_to_remove })]
      }
      const rows = (body as { members: { email_address: string; status: MemberStatus }[] }).members
      return [200, subscribeAnswer({ created: rows.map((r) => ({ email: r.email_address, status: r.status })) })]
    })
  return sent
}

async function run(eventData: Record<string, unknown>, settingsData: Record<string, unknown>) {
  const sent = recordingMailchimp()
  const event = createTestEvent({ properties: eventData as JSONObject })
  let outcome: unknown
  try {
    await testDestination.testAction('syncCohort', {
      event,
      mapping: event.properties,
      settings: settingsData as unknown as Settings,
      auth: { accessToken: TOKEN, refreshToken: '' }
    })
    outcome = testDestination.results.at(-1)
  } catch (error) {
    outcome = { error: (error as Error).message, status: (error as { status?: number }).status }
  }
  nock.cleanAll()
  return { sent, outcome }
}

/** The generated values the plugin refuses before sending, replaced by valid ones. */
function madeValid(eventData: Record<string, unknown>, settingsData: Record<string, unknown>) {
  return [
    {
      ...eventData,
      ...('external_audience_id' in eventData ? { external_audience_id: '4242' } : {}),
      ...('batch_size' in eventData ? { batch_size: 1000 } : {}),
      ...('merge_fields' in eventData ? { merge_fields: { FNAME: 'Ada', lname: 'Lovelace', PHONE: '' } } : {}),
      ...(!('email' in eventData) ? { email: 'required-only@example.com', in_cohort: true } : {})
    },
    { ...settingsData, audience_id: AUDIENCE_ID }
  ] as const
}

describe(`Testing snapshot for ${slug} destination:`, () => {
  for (const actionSlug in definition.actions) {
    for (const requiredOnly of [true, false]) {
      it(`${actionSlug} action - ${requiredOnly ? 'required fields' : 'all fields'}`, async () => {
        const action = definition.actions[actionSlug]
        const [eventData, settingsData] = catalogTestData(`${slug}#${actionSlug}`, definition, action, requiredOnly)

        const generated = await run(eventData, settingsData)
        expect(generated.sent).toEqual([])
        expect(generated).toMatchSnapshot('as generated')

        const valid = await run(...madeValid(eventData, settingsData))
        expect(valid.sent.length).toBeGreaterThan(0)
        expect(valid).toMatchSnapshot('made valid')
      })
    }
  }
})
