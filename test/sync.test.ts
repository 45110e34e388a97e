import {
  createTestEvent,
  createTestIntegration,
  defaultValues,
  Destination,
  IntegrationError,
  InvalidAuthenticationError,
  PayloadValidationError,
  RetryableError
} from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import definition, { mailchimpCohorts } from '../src'
import { fields } from '../src/destinations/mailchimp-cohort/syncCohort/fields'
import { contactExists, forgotten, inComplianceState, looksFake, member, subscribeAnswer, tagAnswer } from './answers'
import type { MemberStatus } from './answers'
import {
  AUDIENCE_ID,
  api,
  expectNotRequested,
  firstAudiences,
  metadata,
  problem,
  rejectionOf,
  settings as hostSettings,
  tag,
  TOKEN
} from './helpers'

const LIST = `/3.0/lists/${AUDIENCE_ID}`
const SEGMENTS = `${LIST}/segments`
const TAG_ID = '10'
const settings = { audience_id: AUDIENCE_ID, email_property: 'email' }
const auth = { accessToken: TOKEN, refreshToken: '' }
const mapping = defaultValues(fields)

interface Row {
  email_address: string
  status: string
}
interface SubscribeBody {
  members: Row[]
  update_existing: boolean
}
interface TagBody {
  members_to_add?: string[]
  members_to_remove?: string[]
}

/** An Engage audience event: membership is `traits[computation_key]`, the tag id comes from createAudience. */
function engage(email: string, inCohort: boolean, { tagId = TAG_ID as string | undefined, key = 'power_users' } = {}) {
  return createTestEvent({
    type: 'identify',
    traits: { email, [key]: inCohort },
    context: { personas: { computation_class: 'audience', computation_key: key, external_audience_id: tagId } }
  } as Partial<SegmentEvent>)
}

function emails(count: number, prefix = 'u', from = 0): string[] {
  return Array.from({ length: count }, (_, i) => `${prefix}${from + i}@example.com`)
}

async function sync(events: SegmentEvent[], { extraMapping = {}, host = new Destination(definition) } = {}) {
  return host.executeBatch('syncCohort', { events, mapping: { ...mapping, ...extraMapping }, settings, auth })
}

/** `GET /lists/{id}` for the double opt-in setting. */
function audienceLookup(doubleOptin = false) {
  return api()
    .get(LIST)
    .query({ fields: 'id,name,double_optin' })
    .reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: doubleOptin })
}

/** A batch subscribe call whose body is recorded into `bodies` and checked by `accept`. */
function subscribe(bodies: SubscribeBody[] = [], accept: (body: SubscribeBody) => boolean = () => true) {
  return api()
    .post(LIST, (body: SubscribeBody) => {
      if (!accept(body)) return false
      bodies.push(body)
      return true
    })
    .query({ skip_merge_validation: 'true' })
}

/** A tag add/remove call whose body is recorded into `bodies` and checked by `accept`. */
function tagCall(tagId = TAG_ID, bodies: TagBody[] = [], accept: (body: TagBody) => boolean = () => true) {
  return api().post(`${SEGMENTS}/${tagId}`, (body: TagBody) => {
    if (!accept(body)) return false
    bodies.push(body)
    return true
  })
}

/** Answers a batch subscribe by creating every row with the status asked for. */
function createEveryone(_uri: string, body: SubscribeBody) {
  return subscribeAnswer({
    created: body.members.map((row) => ({ email: row.email_address, status: row.status as MemberStatus }))
  })
}

/** Answers a tag call by adding and removing everyone asked. */
function tagEveryone(_uri: string, body: TagBody) {
  return tagAnswer({ added: body.members_to_add ?? [], removed: body.members_to_remove ?? [] })
}

type Result = Awaited<ReturnType<typeof sync>>[number]
const statuses = (results: Result[]) => results.map((r) => r.status)
/** What Mailchimp confirmed for a successful event. */
const resultOf = (r: Result) => (r as { body?: { result?: string } }).body?.result
const bodyOf = (r: Result) => (r as { body?: unknown }).body
/** The message of a failed event. */
const messageOf = (r: Result) => (r as { errormessage?: string }).errormessage

describe('syncCohort: a first sync', () => {
  it('sends 1,200 new contacts in three chunks with the exact request bodies, and confirms each', async () => {
    const all = emails(1200)
    metadata()
    audienceLookup(false)
    const subscribes: SubscribeBody[] = []
    const tags: TagBody[] = []
    subscribe(subscribes).times(3).reply(200, createEveryone)
    tagCall(TAG_ID, tags).times(3).reply(200, tagEveryone)

    const results = await sync(all.map((email) => engage(email, true)))

    const byFirst = <T>(list: T[], first: (item: T) => string) =>
      [...list].sort((a, b) => all.indexOf(first(a)) - all.indexOf(first(b)))
    const chunks = [all.slice(0, 500), all.slice(500, 1000), all.slice(1000)]
    expect(byFirst(subscribes, (b) => b.members[0].email_address)).toEqual(
      chunks.map((chunk) => ({
        members: chunk.map((email) => ({ email_address: email, status: 'subscribed' })),
        update_existing: false
      }))
    )
    expect(byFirst(tags, (b) => (b.members_to_add ?? [])[0])).toEqual(
      chunks.map((chunk) => ({ members_to_add: chunk }))
    )
    expect(results).toHaveLength(1200)
    for (const [i, result] of results.entries()) {
      expect(result).toEqual({
        status: 200,
        sent: { email: all[i], in_cohort: true, tag_id: TAG_ID },
        body: { result: 'created_and_added', tag_id: TAG_ID }
      })
    }
  })

  it('gives new contacts Pending on a double opt-in audience, and reads that setting once', async () => {
    metadata()
    const lookup = audienceLookup(true)
    const subscribes: SubscribeBody[] = []
    subscribe(subscribes).times(2).reply(200, createEveryone)
    tagCall().times(2).reply(200, tagEveryone)

    await sync([engage('a@example.com', true)])
    await sync([engage('b@example.com', true)])

    expect(lookup.isDone()).toBe(true)
    expect(subscribes.map((b) => b.members)).toEqual([
      [{ email_address: 'a@example.com', status: 'pending' }],
      [{ email_address: 'b@example.com', status: 'pending' }]
    ])
  })

  it('uses the chosen status for new contacts without reading the audience', async () => {
    metadata()
    const lookup = audienceLookup(true)
    const subscribes: SubscribeBody[] = []
    subscribe(subscribes).reply(200, createEveryone)
    tagCall().reply(200, tagEveryone)

    const results = await sync([engage('a@example.com', true)], { extraMapping: { status_if_new: 'transactional' } })

    expect(statuses(results)).toEqual([200])
    expect(subscribes[0].members).toEqual([{ email_address: 'a@example.com', status: 'transactional' }])
    expectNotRequested(lookup)
  })
})

describe('syncCohort: existing contacts', () => {
  it('leaves unsubscribed, cleaned, pending and transactional contacts’ status as it is and still tags them', async () => {
    const existing: [string, MemberStatus][] = [
      ['gone@example.com', 'unsubscribed'],
      ['bounced@example.com', 'cleaned'],
      ['unconfirmed@example.com', 'pending'],
      ['receipts@example.com', 'transactional']
    ]
    metadata()
    audienceLookup(false)
    const subscribes: SubscribeBody[] = []
    subscribe(subscribes).reply(200, subscribeAnswer({ errors: existing.map(([email]) => contactExists(email)) }))
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ added: existing.map(([email, status]) => ({ email, status })) }))
    // Any call that could change a contact's status must never be made.
    const upsert = api()
      .put(/\/members\//)
      .reply(200, member('x@example.com'))
    const patch = api()
      .patch(/\/members\//)
      .reply(200, member('x@example.com'))

    const results = await sync(existing.map(([email]) => engage(email, true)))

    expect(statuses(results)).toEqual([200, 200, 200, 200])
    expect(results.map((r) => resultOf(r))).toEqual(Array(4).fill('added'))
    // The only request that can create contacts is told not to update existing ones; nothing else touches them.
    expect(subscribes).toHaveLength(1)
    expect(subscribes[0].update_existing).toBe(false)
    expect(JSON.stringify(subscribes[0])).not.toMatch(/status_if_new|update_existing":true/)
    expect(tags).toEqual([{ members_to_add: existing.map(([email]) => email) }])
    expectNotRequested(upsert, patch)
  })

  it('adds and removes in one tag call per chunk', async () => {
    metadata()
    audienceLookup(false)
    const tags: TagBody[] = []
    subscribe().reply(
      200,
      subscribeAnswer({
        created: [{ email: 'new@example.com', status: 'subscribed' }],
        errors: [contactExists('old@example.com')]
      })
    )
    tagCall(TAG_ID, tags).reply(
      200,
      tagAnswer({ added: ['new@example.com', 'old@example.com'], removed: ['left@example.com'] })
    )

    const results = await sync([
      engage('new@example.com', true),
      engage('left@example.com', false),
      engage('old@example.com', true),
      engage('never-tagged@example.com', false)
    ])

    expect(tags).toEqual([
      {
        members_to_add: ['new@example.com', 'old@example.com'],
        members_to_remove: ['left@example.com', 'never-tagged@example.com']
      }
    ])
    expect(results.map((r) => [r.status, resultOf(r)])).toEqual([
      [200, 'created_and_added'],
      [200, 'removed'],
      [200, 'added'],
      [200, 'not_tagged']
    ])
  })

  it('calls an existing contact that Mailchimp neither added nor refused already tagged', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(200, subscribeAnswer({ errors: [contactExists('tagged@example.com')] }))
    tagCall().reply(200, tagAnswer({}))

    const [result] = await sync([engage('tagged@example.com', true)])

    expect(result).toMatchObject({ status: 200, body: { result: 'already_tagged' } })
  })

  it('removes without creating anyone: no batch subscribe for a batch of leavers', async () => {
    metadata()
    const created = subscribe().reply(200, createEveryone)
    tagCall().reply(200, tagAnswer({ removed: ['a@example.com'] }))

    const results = await sync([engage('a@example.com', false)])

    expect(results).toEqual([expect.objectContaining({ status: 200, body: { result: 'removed', tag_id: TAG_ID } })])
    expectNotRequested(created)
  })
})

describe('syncCohort: duplicates', () => {
  it('folds letter-case and space variants of one email; the last event wins and every event gets an outcome', async () => {
    metadata()
    audienceLookup(false)
    const subscribes: SubscribeBody[] = []
    const tags: TagBody[] = []
    subscribe(subscribes).reply(200, createEveryone)
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ added: ['b@example.com'], removed: ['ADA@example.com'] }))

    const results = await sync([
      engage('Ada@Example.com', true),
      engage('b@example.com', true),
      engage('  ada@example.com ', true),
      engage('ADA@example.com', false)
    ])

    expect(subscribes.map((b) => b.members)).toEqual([[{ email_address: 'b@example.com', status: 'subscribed' }]])
    expect(tags).toEqual([{ members_to_add: ['b@example.com'], members_to_remove: ['ADA@example.com'] }])
    expect(results.map((r) => [r.status, bodyOf(r)])).toEqual([
      [200, { result: 'removed', tag_id: TAG_ID, superseded: true }],
      [200, { result: 'created_and_added', tag_id: TAG_ID }],
      [200, { result: 'removed', tag_id: TAG_ID, superseded: true }],
      [200, { result: 'removed', tag_id: TAG_ID }]
    ])
  })
})

describe('syncCohort: what Mailchimp’s answers confirm', () => {
  it('counts an address Mailchimp says already has the tag as done', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(200, subscribeAnswer({ errors: [contactExists('a@example.com')] }))
    tagCall().reply(
      200,
      tagAnswer({ errors: [{ emails: ['a@example.com'], error: 'a@example.com is already in this segment' }] })
    )

    const [result] = await sync([engage('a@example.com', true)])

    expect(result).toMatchObject({ status: 200, body: { result: 'already_tagged' } })
  })

  it('recognises an existing contact by Mailchimp’s words even without an error code', async () => {
    metadata()
    audienceLookup(false)
    const { email, error } = contactExists('a@example.com')
    subscribe().reply(200, { ...subscribeAnswer({}), errors: [{ email_address: email, error }], error_count: 1 })
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ added: ['a@example.com'] }))

    const [result] = await sync([engage('a@example.com', true)])

    expect(tags).toEqual([{ members_to_add: ['a@example.com'] }])
    expect(result).toMatchObject({ status: 200, body: { result: 'added' } })
  })

  it('does not call a contact it just created tagged until Mailchimp says so: that event is retryable', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(200, createEveryone)
    tagCall().reply(200, tagAnswer({}))

    const [result] = await sync([engage('a@example.com', true)])

    expect(result).toMatchObject({ status: 503 })
    expect(messageOf(result)).toMatch(/created this contact but did not confirm the tag/)
  })

  it('fails, without retry, an address Mailchimp neither created, reported nor tagged', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(200, subscribeAnswer({}))
    tagCall().reply(200, tagAnswer({}))

    const [result] = await sync([engage('a@example.com', true)])

    expect(result).toMatchObject({ status: 400, body: { code: 'TAG_NOT_CHANGED' } })
  })
})

describe('syncCohort: status "skip"', () => {
  it('creates nobody, tags contacts in the audience and says so for contacts that are not', async () => {
    metadata()
    const created = subscribe().reply(200, createEveryone)
    const lookup = audienceLookup(false)
    const tags: TagBody[] = []
    // Mailchimp ignores addresses it does not have: only the member shows up as added.
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ added: ['member@example.com'] }))

    const results = await sync([engage('member@example.com', true), engage('stranger@example.com', true)], {
      extraMapping: { status_if_new: 'skip' }
    })

    expect(tags).toEqual([{ members_to_add: ['member@example.com', 'stranger@example.com'] }])
    expect(results[0]).toMatchObject({ status: 200, body: { result: 'added' } })
    expect(results[1]).toMatchObject({ status: 400, errortype: 'BAD_REQUEST' })
    expect(messageOf(results[1])).toMatch(/not in the audience.*Skip/)
    expectNotRequested(created, lookup)
  })
})

describe('syncCohort: addresses Mailchimp will not take', () => {
  it('gives fake, forgotten and compliance-state addresses final outcomes with Mailchimp’s reason', async () => {
    metadata()
    audienceLookup(false)
    const tags: TagBody[] = []
    subscribe().reply(
      200,
      subscribeAnswer({
        created: [{ email: 'fine@example.com', status: 'subscribed' }],
        errors: [
          looksFake('fake@example.com'),
          forgotten('erased@example.com'),
          inComplianceState('held@example.com'),
          inComplianceState('held-member@example.com')
        ]
      })
    )
    // A compliance-state address that is a contact can still be tagged; one that is not is ignored.
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ added: ['fine@example.com', 'held-member@example.com'] }))

    const results = await sync(
      ['fine', 'fake', 'erased', 'held', 'held-member'].map((name) => engage(`${name}@example.com`, true))
    )

    expect(tags).toEqual([{ members_to_add: ['fine@example.com', 'held@example.com', 'held-member@example.com'] }])
    expect(statuses(results)).toEqual([200, 400, 400, 400, 200])
    const messages = results.map(messageOf)
    expect(messages[1]).toMatch(/^Mailchimp refused this contact: fake@example.com looks fake or invalid/)
    expect(messages[2]).toMatch(/permanently deleted .* cannot be re-imported/)
    expect(messages[3]).toMatch(/compliance state/)
    expect(results[4]).toMatchObject({ body: { result: 'added' } })
  })

  it('traces a per-email error of the tag call back to every event that carried the address', async () => {
    metadata()
    const answer = tagAnswer({ errors: [{ emails: ['A@example.com'], error: 'Contact is locked for edits' }] })
    tagCall().reply(200, answer)

    const results = await sync([
      engage('a@example.com', false),
      engage('b@example.com', false),
      engage('a@EXAMPLE.com', false)
    ])

    expect(statuses(results)).toEqual([400, 200, 400])
    expect(messageOf(results[2])).toBe("Mailchimp did not change this contact's tag: Contact is locked for edits")
  })
})

describe('syncCohort: removals Mailchimp reports as errors', () => {
  it('counts "not a member" as done and any other reason as a refusal', async () => {
    metadata()
    tagCall().reply(
      200,
      tagAnswer({
        errors: [
          { emails: ['gone@example.com'], error: 'gone@example.com is not a member of this segment' },
          { emails: ['locked@example.com'], error: 'Cannot remove: contact is locked' },
          { emails: ['odd@example.com'], error: 'Contact is not in a valid state for this change' }
        ]
      })
    )

    const results = await sync([
      engage('gone@example.com', false),
      engage('locked@example.com', false),
      engage('odd@example.com', false)
    ])

    expect(results[0]).toMatchObject({ status: 200, body: { result: 'not_tagged' } })
    expect(results[1]).toMatchObject({ status: 400 })
    expect(messageOf(results[1])).toMatch(/Cannot remove: contact is locked/)
    expect(results[2]).toMatchObject({ status: 400 })
  })
})

describe('syncCohort: failures that may pass later', () => {
  it('makes only the second chunk retryable when its request gets a 429', async () => {
    const all = emails(1500)
    metadata()
    audienceLookup(false)
    const second = (body: SubscribeBody) => body.members[0].email_address === all[500]
    subscribe([], (body) => !second(body))
      .times(2)
      .reply(200, createEveryone)
    subscribe([], second).reply(
      ...problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.')
    )
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).times(2).reply(200, tagEveryone)

    const results = await sync(all.map((email) => engage(email, true)))

    expect(statuses(results)).toEqual([...Array(500).fill(200), ...Array(500).fill(429), ...Array(500).fill(200)])
    expect(results[700]).toMatchObject({ errortype: 'TOO_MANY_REQUESTS' })
    expect(messageOf(results[700])).toMatch(/rate limiting.*try again later/)
    // The chunk whose contacts may not exist was never tagged.
    expect(tags.flatMap((b) => b.members_to_add ?? [])).not.toContain(all[700])
  })

  it('makes only the second chunk retryable when its tag call gets a 429', async () => {
    const all = emails(1500).map((email) => email.replace('u', 'old'))
    metadata()
    const second = (body: TagBody) => (body.members_to_remove ?? [])[0] === all[500]
    tagCall(TAG_ID, [], (body) => !second(body))
      .times(2)
      .reply(200, tagEveryone)
    tagCall(TAG_ID, [], second).reply(
      ...problem(429, 'Too Many Requests', 'You have exceeded the limit of 10 simultaneous connections.')
    )

    const results = await sync(all.map((email) => engage(email, false)))

    expect(statuses(results)).toEqual([...Array(500).fill(200), ...Array(500).fill(429), ...Array(500).fill(200)])
  })

  it('makes a chunk retryable when its tag call gets a 500, even after its contacts were created', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(200, createEveryone)
    tagCall().reply(...problem(500, 'Internal Server Error', 'An unexpected internal error has occurred.'))

    const results = await sync([engage('a@example.com', true), engage('b@example.com', false)])

    expect(statuses(results)).toEqual([500, 500])
  })

  it('on a 503 from batch subscribe, retries the chunk’s adds but still lands its removes', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(503, '<html>Service Unavailable</html>', { 'content-type': 'text/html' })
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ removed: ['out@example.com'] }))

    const results = await sync([engage('in@example.com', true), engage('out@example.com', false)])

    expect(tags).toEqual([{ members_to_remove: ['out@example.com'] }])
    expect(results[0]).toMatchObject({ status: 503, errortype: 'SERVICE_UNAVAILABLE' })
    expect(results[1]).toMatchObject({ status: 200, body: { result: 'removed' } })
  })

  it('treats a 403 without a problem body as Mailchimp’s throttle: retryable', async () => {
    metadata()
    tagCall().reply(403, '')

    const [result] = await sync([engage('a@example.com', false)])

    expect(result).toMatchObject({ status: 429 })
  })

  it('makes a chunk retryable when Mailchimp does not answer in time', async () => {
    metadata()
    tagCall()
      .delay(1000)
      .reply(200, tagAnswer({ removed: ['a@example.com'] }))

    const [result] = await sync([engage('a@example.com', false)], {
      host: new Destination(mailchimpCohorts({ requestTimeoutMs: 100 }))
    })

    expect(result).toMatchObject({ status: 504 })
    expect(messageOf(result)).toMatch(/did not answer in time/)
  })

  it('never counts an unreadable answer as a success', async () => {
    metadata()
    tagCall().reply(200, { members_added: 'everyone' })

    const [result] = await sync([engage('a@example.com', false)])

    expect(result).toMatchObject({ status: 502 })
  })
})

describe('syncCohort: failures that stop the whole batch', () => {
  it('answers every event 401 with "reconnect" when the token was revoked, and sends nothing more', async () => {
    metadata()
    audienceLookup(false)
    subscribe().reply(
      ...problem(
        401,
        'API Key Invalid',
        'Your API key may be invalid, or you’ve attempted to access the wrong datacenter.'
      )
    )
    const tagging = tagCall().reply(200, tagEveryone)

    const results = await sync([engage('a@example.com', true), engage('b@example.com', false)])

    expect(statuses(results)).toEqual([401, 401])
    for (const result of results) expect(messageOf(result)).toMatch(/Reconnect Mailchimp/)
    expectNotRequested(tagging)
  })

  it('answers every event 404 naming audience_id when the audience does not exist', async () => {
    metadata()
    api()
      .get(LIST)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    const creating = subscribe().reply(200, createEveryone)
    const tagging = tagCall().reply(200, tagEveryone)
    const listing = firstAudiences([{ id: 'b2c3d4e5f6', name: 'Customers' }])

    const results = await sync([engage('a@example.com', true), engage('b@example.com', false), engage('bad', true)])

    expect(statuses(results)).toEqual([404, 404, 400])
    expect(messageOf(results[1])).toMatch(/no audience "57afe96172".*audience_id/)
    expect(messageOf(results[0])).toMatch(/can see: "Customers" \(b2c3d4e5f6\)\./)
    expect(listing.isDone()).toBe(true)
    expectNotRequested(creating, tagging)
  })

  it('answers every event 401 when no token was given, without a request', async () => {
    const results = await new Destination(definition).executeBatch('syncCohort', {
      events: [engage('a@example.com', true)],
      mapping,
      settings
    })
    expect(results).toEqual([
      expect.objectContaining({ status: 401, errormessage: expect.stringMatching(/connect Mailchimp/) })
    ])
  })

  it('refuses an audience_id that is not letters and digits before any request', async () => {
    const results = await new Destination(definition).executeBatch('syncCohort', {
      events: [engage('a@example.com', true)],
      mapping,
      settings: { ...settings, audience_id: '../../x' },
      auth
    })
    expect(results).toEqual([
      expect.objectContaining({ status: 400, errormessage: expect.stringMatching(/audience_id/) })
    ])
  })
})

describe('syncCohort: a tag deleted in Mailchimp', () => {
  const LIST_QUERY = {
    type: 'static',
    count: '1000',
    offset: '0',
    fields: 'segments.id,segments.name,segments.type,total_items'
  }

  it('finds or re-creates the tag by cohort name, then later batches go straight to it', async () => {
    metadata()
    audienceLookup(false)
    subscribe().times(2).reply(200, createEveryone)
    tagCall(TAG_ID).reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    api().get(SEGMENTS).query(LIST_QUERY).reply(200, { segments: [], total_items: 0 })
    api().post(SEGMENTS, { name: 'power_users', static_segment: [] }).reply(200, tag(11, 'power_users'))
    api()
      .get(SEGMENTS)
      .query(LIST_QUERY)
      .reply(200, { segments: [tag(11, 'power_users')], total_items: 1 })
    const tags: TagBody[] = []
    tagCall('11', tags).times(2).reply(200, tagEveryone)

    const first = await sync([engage('a@example.com', true), engage('b@example.com', false)])
    const second = await sync([engage('c@example.com', true)])

    expect(first.map((r) => bodyOf(r))).toEqual([
      { result: 'created_and_added', tag_id: '11' },
      { result: 'removed', tag_id: '11' }
    ])
    expect(second).toEqual([
      expect.objectContaining({ status: 200, body: { result: 'created_and_added', tag_id: '11' } })
    ])
    expect(tags).toEqual([
      { members_to_add: ['a@example.com'], members_to_remove: ['b@example.com'] },
      { members_to_add: ['c@example.com'] }
    ])
  })

  it('counts removals from a deleted tag as done, without re-creating it', async () => {
    metadata()
    tagCall(TAG_ID).reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    api()
      .get(SEGMENTS)
      .query(LIST_QUERY)
      .reply(200, { segments: [tag(3, 'Other')], total_items: 1 })
    const create = api().post(SEGMENTS).reply(200, tag(11, 'power_users'))

    const results = await sync([engage('a@example.com', false)])

    expect(results).toEqual([expect.objectContaining({ status: 200, body: { result: 'not_tagged' } })])
    expectNotRequested(create)
  })

  it('answers 404 naming the tag id when there is no cohort name to find it by', async () => {
    metadata()
    tagCall(TAG_ID).reply(
      ...problem(400, 'Invalid Resource', 'A Static Segment with an id of 10 does not exist for this list.')
    )
    api().get(LIST).query(true).reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })

    const [result] = await sync([engage('a@example.com', false)], {
      extraMapping: { cohort_name: { '@path': '$.properties.nothing' }, in_cohort: false }
    })

    expect(result).toMatchObject({ status: 404, errortype: 'NOT_FOUND' })
    expect(messageOf(result)).toMatch(/tag 10 no longer exists.*Map Cohort Name/)
  })
})

describe('syncCohort: tags by cohort name', () => {
  it('finds the tag named after the cohort once and caches it', async () => {
    metadata()
    const listing = api()
      .get(SEGMENTS)
      .query(true)
      .reply(200, { segments: [tag(33, 'Power Users')], total_items: 1 })
    tagCall('33').times(2).reply(200, tagEveryone)
    const event = (email: string) =>
      createTestEvent({
        type: 'track',
        traits: undefined,
        properties: { email, cohort_name: 'power users', in_cohort: false }
      })

    const first = await sync([event('a@example.com')])
    const second = await sync([event('b@example.com')])

    expect(listing.isDone()).toBe(true)
    expect([...first, ...second]).toEqual([
      expect.objectContaining({ body: { result: 'removed', tag_id: '33' } }),
      expect.objectContaining({ body: { result: 'removed', tag_id: '33' } })
    ])
  })

  it('does not create a tag only to remove contacts from it', async () => {
    metadata()
    api().get(SEGMENTS).query(true).reply(200, { segments: [], total_items: 0 })
    const create = api().post(SEGMENTS).reply(200, tag(5, 'Churned'))

    const results = await sync([
      createTestEvent({
        type: 'track',
        traits: undefined,
        properties: { email: 'a@example.com', cohort_name: 'Churned', in_cohort: false }
      })
    ])

    expect(results).toEqual([expect.objectContaining({ status: 200, body: { result: 'not_tagged' } })])
    expectNotRequested(create)
  })
})

describe('syncCohort: one outcome per event', () => {
  it('keeps outcomes in event order when actions-core and the plugin each refuse some events', async () => {
    metadata()
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagEveryone)
    const identify = (traits: Record<string, unknown>, properties: Record<string, unknown> = {}) =>
      createTestEvent({ type: 'identify', traits, properties, context: {} } as Partial<SegmentEvent>)

    const results = await sync([
      engage('a@example.com', false),
      identify({ email: 'x@example.com' }, { in_cohort: 'maybe' }),
      engage('not-an-email', false),
      identify({ name: 'No email' }, { in_cohort: true, cohort_name: 'Power users' }),
      identify({ email: 'unknown@example.com' }, { cohort_name: 'Power users' }),
      identify({ email: 'long@example.com' }, { in_cohort: true, cohort_name: 'n'.repeat(88) }),
      engage('b@example.com', false)
    ])

    expect(results).toHaveLength(7)
    expect(results[0]).toMatchObject({ status: 200, sent: { email: 'a@example.com' } })
    expect(results[1]).toMatchObject({ status: 400, errortype: 'PAYLOAD_VALIDATION_FAILED' })
    expect(results[2]).toMatchObject({ status: 400, errormessage: expect.stringMatching(/^Not an email address/) })
    expect(results[3]).toMatchObject({ status: 400, errormessage: expect.stringMatching(/user property "email"/) })
    expect(results[4]).toMatchObject({ status: 400, errortype: 'INVALID_AUDIENCE_MEMBERSHIP' })
    expect(results[5]).toMatchObject({ status: 400, errormessage: expect.stringContaining('88') })
    expect(results[6]).toMatchObject({ status: 200, sent: { email: 'b@example.com' } })
    // Refused events never reach Mailchimp.
    expect(tags).toEqual([{ members_to_remove: ['a@example.com', 'b@example.com'] }])
  })
})

describe('syncCohort: as a host runs it', () => {
  it('takes identify calls and Audience Entered/Exited tracks under its default subscription, and no other tracks', async () => {
    metadata()
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagEveryone)
    const track = (event: string, email: string) =>
      createTestEvent({
        type: 'track',
        event,
        traits: undefined,
        properties: { email, power_users: false },
        context: {
          personas: { computation_class: 'audience', computation_key: 'power_users', external_audience_id: TAG_ID }
        }
      } as Partial<SegmentEvent>)
    const subscription = {
      subscribe: definition.actions.syncCohort.defaultSubscription ?? '',
      partnerAction: 'syncCohort',
      mapping: mapping as JSONObject
    }

    const [result] = await new Destination(definition).onBatch(
      [
        engage('a@example.com', false),
        track('Audience Exited', 'b@example.com'),
        track('Order Completed', 'c@example.com')
      ],
      { ...hostSettings, subscription }
    )

    expect(tags).toEqual([{ members_to_remove: ['a@example.com', 'b@example.com'] }])
    expect(statuses(result.multistatus ?? [])).toEqual([200, 200, 400])
    expect(result.multistatus?.[2]).toMatchObject({
      errormessage: expect.stringMatching(/does not match the subscription/)
    })
  })

  it('on a revoked token, lets the host ask for a refresh once and stop with "reconnect"', async () => {
    metadata()
    tagCall().reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.'))
    const subscription = { subscribe: 'type = "identify"', partnerAction: 'syncCohort', mapping: mapping as JSONObject }

    const error = await rejectionOf<InvalidAuthenticationError>(
      new Destination(definition).onBatch([engage('a@example.com', false)], {
        ...hostSettings,
        subscription
      })
    )

    expect(error).toBeInstanceOf(InvalidAuthenticationError)
    expect(error.message).toMatch(/Reconnect Mailchimp/)
  })
})

describe('syncCohort: a single event (perform)', () => {
  const testDestination = createTestIntegration(definition)
  const run = (event: SegmentEvent) =>
    testDestination.testAction('syncCohort', { event, mapping, settings, auth, useDefaultMappings: true })

  it('syncs through the same path and returns what Mailchimp confirmed', async () => {
    metadata()
    const tags: TagBody[] = []
    tagCall(TAG_ID, tags).reply(200, tagAnswer({ removed: ['a@example.com'] }))

    const responses = await run(engage('a@example.com', false))

    expect(tags).toEqual([{ members_to_remove: ['a@example.com'] }])
    expect(responses).toHaveLength(2)
    expect(testDestination.results.at(-1)).toMatchObject({ data: { result: 'removed', tag_id: TAG_ID } })
  })

  it('throws the matching actions-core error', async () => {
    expect(await rejectionOf(run(engage('nope', true)))).toBeInstanceOf(PayloadValidationError)

    metadata()
    tagCall().reply(...problem(429, 'Too Many Requests', 'Slow down.'))
    const throttled = await rejectionOf<RetryableError>(run(engage('a@example.com', false)))
    expect(throttled).toBeInstanceOf(RetryableError)
    expect(throttled.status).toBe(429)

    audienceLookup(false)
    subscribe().reply(200, subscribeAnswer({ errors: [looksFake('a@example.com')] }))
    const refused = await rejectionOf<IntegrationError>(run(engage('a@example.com', true)))
    expect(refused).toBeInstanceOf(IntegrationError)
    expect(refused.status).toBe(400)
    expect(refused.message).toMatch(/looks fake or invalid/)

    tagCall().reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.'))
    expect(await rejectionOf(run(engage('a@example.com', false)))).toBeInstanceOf(InvalidAuthenticationError)
  })
})
