import { createHash } from 'crypto'
import { createTestEvent, createTestIntegration, defaultValues, Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../src'
import { fields } from '../src/destinations/mailchimp-cohort/syncCohort/fields'
import { contactExists, member, subscribeAnswer, tagAnswer } from './answers'
import { AUDIENCE_ID, api, metadata, problem, settings as hostSettings, TOKEN } from './helpers'
import { statusCounts } from './sandbox-host'

// Merge Fields over recorded HTTP: written on new contacts, updated on existing ones without a status, checked against
// the audience's own merge fields first.

const LIST = `/3.0/lists/${AUDIENCE_ID}`
const settings = { audience_id: AUDIENCE_ID, email_property: 'email' }
const auth = { accessToken: TOKEN, refreshToken: '' }
const mapping = { ...defaultValues(fields), merge_fields: { '@path': '$.traits.details' } }

interface Row {
  email_address: string
  status?: string
  status_if_new?: string
  merge_fields?: Record<string, unknown>
}

function engage(email: string, details?: Record<string, unknown>) {
  return createTestEvent({
    type: 'identify',
    traits: { email, power_users: true, ...(details ? { details } : {}) },
    context: { personas: { computation_class: 'audience', computation_key: 'power_users', external_audience_id: '10' } }
  } as Partial<SegmentEvent>)
}

async function sync(events: SegmentEvent[], host = new Destination(definition), extraMapping = {}) {
  return (await host.executeBatch('syncCohort', {
    events,
    mapping: { ...mapping, ...extraMapping },
    settings,
    auth
  })) as {
    status: number
    body?: { result?: string }
    errormessage?: string
  }[]
}

function mergeFieldsLookup() {
  const tags = [
    ['FNAME', 'First Name', 'text'],
    ['LNAME', 'Last Name', 'text'],
    ['ADDRESS', 'Address', 'address'],
    ['PHONE', 'Phone Number', 'phone'],
    ['BIRTHDAY', 'Birthday', 'birthday']
  ]
  return api()
    .get(`${LIST}/merge-fields`)
    .query(true)
    .reply(200, {
      merge_fields: tags.map(([tag, name, type]) => ({ tag, name, type, required: false })),
      total_items: tags.length
    })
}

function audienceLookup() {
  return api().get(LIST).query(true).reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })
}

/** Batch subscribe calls, told apart by `update_existing`, with their rows recorded. */
function subscribe(updateExisting: boolean, rows: Row[][]) {
  return api()
    .post(LIST, (body: { members: Row[]; update_existing: boolean }) => {
      if (body.update_existing !== updateExisting) return false
      rows.push(body.members)
      return true
    })
    .query({ skip_merge_validation: 'true' })
}

/** What a first sync looks up: the data center, the audience's merge fields and its opt-in setting. */
function coldLookups() {
  metadata()
  mergeFieldsLookup()
  audienceLookup()
}

/** A member upsert for one contact, its body recorded into `bodies`. */
function upsert(email: string, bodies: Row[] = []) {
  const hash = createHash('md5').update(email.toLowerCase()).digest('hex')
  return api()
    .put(`${LIST}/members/${hash}`, (body: Row) => bodies.push(body) > 0)
    .query({ skip_merge_validation: 'true' })
}

/** A host whose first sync has cached the token's data center, the opt-in setting and the merge fields. */
async function warmedUp() {
  coldLookups()
  subscribe(false, []).reply(200, subscribeAnswer({ created: [{ email: 'a@example.com', status: 'subscribed' }] }))
  api()
    .post(`${LIST}/segments/10`)
    .reply(200, tagAnswer({ added: ['a@example.com'] }))
  const host = new Destination(definition)
  await sync([engage('a@example.com', { FNAME: 'A' })], host)
  return host
}

describe('Merge Fields', () => {
  it('writes them on new contacts under the audience’s tags, leaving out empty values, with one lookup', async () => {
    coldLookups()
    const created: Row[][] = []
    subscribe(false, created).reply(
      200,
      subscribeAnswer({ created: [{ email: 'ada@example.com', status: 'subscribed' }] })
    )
    api()
      .post(`${LIST}/segments/10`)
      .reply(200, tagAnswer({ added: ['ada@example.com'] }))

    const [result] = await sync([
      engage('ada@example.com', { fname: 'Ada', LNAME: 'Lovelace', PHONE: '', BIRTHDAY: null })
    ])
    expect(result.status).toBe(200)
    expect(result.body?.result).toBe('created_and_added')
    expect(created).toEqual([
      [{ email_address: 'ada@example.com', status: 'subscribed', merge_fields: { FNAME: 'Ada', LNAME: 'Lovelace' } }]
    ])
  })

  it('updates existing contacts one upsert each, with status_if_new and never status, then tags them', async () => {
    coldLookups()
    const created: Row[][] = []
    subscribe(false, created).reply(
      200,
      subscribeAnswer({
        created: [{ email: 'new@example.com', status: 'subscribed' }],
        errors: [contactExists('old@example.com'), contactExists('plain@example.com')]
      })
    )
    const upserts: Row[] = []
    upsert('old@example.com', upserts).reply(200, member('old@example.com', 'unsubscribed'))
    const tagBodies: unknown[] = []
    api()
      .post(`${LIST}/segments/10`, (body) => tagBodies.push(body) > 0)
      .reply(200, tagAnswer({ added: ['new@example.com', 'old@example.com', 'plain@example.com'] }))

    const results = await sync([
      engage('new@example.com', { FNAME: 'New' }),
      engage('old@example.com', { FNAME: 'Old' }),
      engage('plain@example.com')
    ])
    expect(results.map((r) => [r.status, r.body])).toEqual([
      [200, { result: 'created_and_added', tag_id: '10', merge_fields: 'written' }],
      [200, { result: 'added', tag_id: '10', merge_fields: 'written' }],
      [200, { result: 'added', tag_id: '10' }]
    ])
    // New contacts get their merge fields in the creation row; only the existing one that carries some is upserted.
    expect(created).toEqual([
      [
        { email_address: 'new@example.com', status: 'subscribed', merge_fields: { FNAME: 'New' } },
        { email_address: 'old@example.com', status: 'subscribed', merge_fields: { FNAME: 'Old' } },
        { email_address: 'plain@example.com', status: 'subscribed' }
      ]
    ])
    expect(upserts).toEqual([
      { email_address: 'old@example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'Old' } }
    ])
    expect(tagBodies).toEqual([{ members_to_add: ['new@example.com', 'old@example.com', 'plain@example.com'] }])
  })

  it('upserts a contact Mailchimp neither created nor called existing, so its merge fields are confirmed', async () => {
    coldLookups()
    subscribe(false, []).reply(200, subscribeAnswer({}))
    const upserts: Row[] = []
    upsert('quiet@example.com', upserts).reply(200, member('quiet@example.com'))
    api()
      .post(`${LIST}/segments/10`, { members_to_add: ['quiet@example.com'] })
      .reply(200, tagAnswer({ added: ['quiet@example.com'] }))
    const [result] = await sync([engage('quiet@example.com', { FNAME: 'Q' })])
    expect(result).toMatchObject({ status: 200, body: { result: 'added', merge_fields: 'written' } })
    expect(upserts).toEqual([
      { email_address: 'quiet@example.com', status_if_new: 'subscribed', merge_fields: { FNAME: 'Q' } }
    ])
  })

  it('says the merge fields were not written under Skip, which never creates or upserts anyone', async () => {
    metadata()
    mergeFieldsLookup()
    api()
      .post(`${LIST}/segments/10`, { members_to_add: ['old@example.com'] })
      .reply(200, tagAnswer({ added: ['old@example.com'] }))
    const [result] = await sync([engage('old@example.com', { FNAME: 'Old' })], new Destination(definition), {
      status_if_new: 'skip'
    })
    expect(result).toMatchObject({ status: 200, body: { result: 'added', merge_fields: 'not_written' } })
  })

  it('fails an event naming the merge tag the audience does not have, and syncs the others', async () => {
    // The merge fields are read once: the list came from Mailchimp, not from the cache, so it is not asked again.
    coldLookups()
    const created: Row[][] = []
    subscribe(false, created).reply(
      200,
      subscribeAnswer({ created: [{ email: 'ok@example.com', status: 'subscribed' }] })
    )
    api()
      .post(`${LIST}/segments/10`, { members_to_add: ['ok@example.com'] })
      .reply(200, tagAnswer({ added: ['ok@example.com'] }))

    const results = await sync([
      engage('bad@example.com', { FNAME: 'A', NICKNAME: 'x' }),
      engage('ok@example.com', { FNAME: 'B' })
    ])
    expect(results[0].status).toBe(400)
    expect(results[0].errormessage).toBe(
      `Unknown merge field "NICKNAME": audience "${AUDIENCE_ID}" has FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY. Fix the Merge Fields mapping, or add the field to the audience in Mailchimp.`
    )
    expect(results[1].status).toBe(200)
    expect(created.flat().map((row) => row.email_address)).toEqual(['ok@example.com'])
  })

  it('writes nothing for a contact leaving the cohort, and says so', async () => {
    metadata()
    api()
      .post(`${LIST}/segments/10`, { members_to_remove: ['gone@example.com'] })
      .reply(200, tagAnswer({ removed: ['gone@example.com'] }))
    const leaving = engage('gone@example.com', { FNAME: 'Gone' })
    leaving.traits = { ...leaving.traits, power_users: false }
    const [result] = await sync([leaving])
    expect(result).toMatchObject({ status: 200, body: { result: 'removed', merge_fields: 'not_written' } })
  })

  it('leaves a contact untagged, with Mailchimp’s reason, when its merge fields are refused', async () => {
    coldLookups()
    subscribe(false, []).reply(
      200,
      subscribeAnswer({ errors: [contactExists('a@example.com'), contactExists('b@example.com')] })
    )
    upsert('a@example.com').reply(400, {
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title: 'Invalid Resource',
      status: 400,
      detail: 'Your merge fields were invalid.',
      instance: 'f00',
      errors: [{ field: 'BIRTHDAY', message: 'Please enter a valid date.' }]
    })
    upsert('b@example.com').reply(200, member('b@example.com'))
    api()
      .post(`${LIST}/segments/10`, { members_to_add: ['b@example.com'] })
      .reply(200, tagAnswer({ added: ['b@example.com'] }))

    const results = await sync([engage('a@example.com', { BIRTHDAY: 'soon' }), engage('b@example.com', { FNAME: 'B' })])
    expect(results[0].status).toBe(400)
    expect(results[0].errormessage).toMatch(
      /merge fields, so it was not tagged either: .*Your merge fields were invalid\. \(BIRTHDAY: Please enter a valid date\.\)/
    )
    expect(results[1]).toMatchObject({ status: 200, body: { result: 'added', merge_fields: 'written' } })
  })

  it('makes a contact retryable, and untagged, when its upsert is throttled; the rest are tagged', async () => {
    coldLookups()
    subscribe(false, []).reply(
      200,
      subscribeAnswer({
        created: [{ email: 'b@example.com', status: 'subscribed' }],
        errors: [contactExists('a@example.com')]
      })
    )
    upsert('a@example.com').reply(
      ...problem(429, 'TooManyRequests', 'You have exceeded the limit of 10 simultaneous connections.')
    )
    api()
      .post(`${LIST}/segments/10`, { members_to_add: ['b@example.com'] })
      .reply(200, tagAnswer({ added: ['b@example.com'] }))

    const results = await sync([engage('a@example.com', { FNAME: 'A' }), engage('b@example.com')])
    expect(results.map((r) => r.status)).toEqual([429, 200])
    expect(results[0].errormessage).toMatch(/10 simultaneous connections/)
  })

  it('asks Mailchimp again before refusing a merge tag the cached list does not have', async () => {
    const host = await warmedUp()

    // The operator adds NICK in Mailchimp; the cached list lacks it, so the plugin reads the list once more.
    api()
      .get(`${LIST}/merge-fields`)
      .query(true)
      .reply(200, {
        merge_fields: [
          { tag: 'FNAME', name: 'First Name' },
          { tag: 'NICK', name: 'Nickname' }
        ],
        total_items: 2
      })
    const created: Row[][] = []
    subscribe(false, created).reply(
      200,
      subscribeAnswer({ created: [{ email: 'b@example.com', status: 'subscribed' }] })
    )
    api()
      .post(`${LIST}/segments/10`)
      .reply(200, tagAnswer({ added: ['b@example.com'] }))
    const [result] = await sync([engage('b@example.com', { nick: 'Bee' })], host)
    expect(result.status).toBe(200)
    expect(created[0][0].merge_fields).toEqual({ NICK: 'Bee' })
  })

  it('keeps using the list in hand when that second read fails, for this chunk and the next', async () => {
    const host = await warmedUp()
    api()
      .get(`${LIST}/merge-fields`)
      .query(true)
      .reply(...problem(503, 'Service Unavailable', 'Try again.'))
    // Six chunks, four at a time: the fifth and sixth start after the first one's read has failed.
    const others = Array.from({ length: 2600 }, (_, n) => `p${n}@example.com`)
    subscribe(false, [])
      .times(6)
      .reply(200, (_uri, body) => {
        const rows = (body as { members: Row[] }).members
        return subscribeAnswer({
          created: rows.map((row) => ({ email: row.email_address, status: 'subscribed' as const }))
        })
      })
    const tagged: string[] = []
    api()
      .post(`${LIST}/segments/10`)
      .times(6)
      .reply(200, (_uri, body) => {
        const toAdd = (body as { members_to_add: string[] }).members_to_add
        tagged.push(...toAdd)
        return tagAnswer({ added: toAdd })
      })
    const results = await sync(
      [engage('nick@example.com', { NICK: 'N' }), ...others.map((email) => engage(email, { FNAME: 'F' }))],
      host
    )
    expect(results[0].status).toBe(400)
    expect(results[0].errormessage).toMatch(/Unknown merge field "NICK"/)
    expect(statusCounts(results.slice(1))).toEqual({ 200: 2600 })
    // The refused contact never reaches a tag call; every other one does, once.
    expect(tagged.sort()).toEqual([...others].sort())
  })

  it('keeps each audience’s merge fields apart in the cache', async () => {
    const host = await warmedUp()

    const other = '0b1c2d3e4f'
    api()
      .get(`/3.0/lists/${other}/merge-fields`)
      .query(true)
      .reply(200, { merge_fields: [{ tag: 'COMPANY', name: 'Company' }], total_items: 1 })
    const results = (await host.executeBatch('syncCohort', {
      events: [engage('a@example.com', { FNAME: 'A' })],
      mapping,
      settings: { ...settings, audience_id: other },
      auth
    })) as { status: number; errormessage?: string }[]
    expect(results[0].status).toBe(400)
    expect(results[0].errormessage).toMatch(/Unknown merge field "FNAME": audience "0b1c2d3e4f" has COMPANY/)
  })

  it('offers the audience’s merge fields as keys in the mapping', async () => {
    metadata()
    mergeFieldsLookup()
    const integration = createTestIntegration(definition)
    const response = await integration.testDynamicField('syncCohort', 'merge_fields.__keys__', {
      settings: hostSettings,
      payload: {},
      auth
    })
    expect(response).toMatchObject({
      choices: [
        { label: 'First Name (FNAME)', value: 'FNAME', description: 'text' },
        { label: 'Last Name (LNAME)', value: 'LNAME' },
        { label: 'Address (ADDRESS)', value: 'ADDRESS' },
        { label: 'Phone Number (PHONE)', value: 'PHONE' },
        { label: 'Birthday (BIRTHDAY)', value: 'BIRTHDAY' }
      ]
    })
  })

  it('says why the merge fields cannot be listed, naming the audience', async () => {
    metadata()
    api()
      .get(`${LIST}/merge-fields`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    const integration = createTestIntegration(definition)
    const response = await integration.testDynamicField('syncCohort', 'merge_fields.__keys__', {
      settings: hostSettings,
      payload: {},
      auth
    })
    expect(response).toMatchObject({ choices: [], error: { code: 'AUDIENCE_NOT_FOUND' } })
    expect((response as { error: { message: string } }).error.message).toMatch(/no audience "57afe96172"/)
  })
})
