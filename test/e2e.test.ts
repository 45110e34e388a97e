import { defaultValues, Destination } from '@segment/actions-core'
import type { JSONObject, SegmentEvent } from '@segment/actions-core'
import { mailchimpCohorts } from '../src'
import { memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'
import { engage, statusCounts, syncBatch } from './sandbox-host'

// The action end to end, driven as a host drives it, against the stateful sandbox: what the outcomes claim is
// checked against what the sandbox holds afterwards.

const TOKEN = 'sandbox-token'
let sandbox: MailchimpSandbox
let audienceId: string

const settings = () => ({ audience_id: audienceId, email_property: 'email', oauth: { access_token: TOKEN } })
const host = () => new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
type Host = ReturnType<typeof host>
const email = (n: number) => `person${n}@mail.sample-shop.dev`

/** One batch as a host sends it; `mapping` adds fields to the usual Engage mapping. */
const sync = (destination: Host, events: SegmentEvent[], mapping?: JSONObject) =>
  syncBatch(destination, events, { audienceId, token: TOKEN, mapping })

async function connect(destination: Host, name = 'Power users'): Promise<string> {
  await destination.testAuthentication(settings())
  return (await destination.createAudience({ settings: settings(), audienceName: name, audienceSettings: {} }))
    .externalId
}

beforeEach(async () => {
  sandbox = await startSandbox()
  audienceId = sandbox.addAudience({ name: 'Newsletter' })
})

afterEach(async () => {
  await sandbox.close()
})

describe('a first sync and a delta against the sandbox', () => {
  it('creates and tags new contacts, tags existing ones without touching their status, then applies leavers and joiners', async () => {
    sandbox.addContacts(audienceId, [
      { email_address: email(0), status: 'unsubscribed' },
      { email_address: email(1), status: 'cleaned' },
      { email_address: email(2), status: 'pending' },
      { email_address: email(3), status: 'transactional' },
      { email_address: email(4), status: 'subscribed' }
    ])
    const destination = host()
    const tagId = await connect(destination)
    sandbox.resetCounters()

    const first = await sync(
      destination,
      Array.from({ length: 1200 }, (_, n) => engage(email(n), true, tagId))
    )
    expect(statusCounts(first)).toEqual({ 200: 1200 })
    expect(first.slice(0, 5).map((r) => r.body?.result)).toEqual(Array(5).fill('added'))
    expect(first.slice(5).every((r) => r.body?.result === 'created_and_added')).toBe(true)
    expect(sandbox.tagMembers(audienceId, Number(tagId)).length).toBe(1200)
    expect([0, 1, 2, 3, 4].map((n) => sandbox.contact(audienceId, email(n))?.status)).toEqual([
      'unsubscribed',
      'cleaned',
      'pending',
      'transactional',
      'subscribed'
    ])
    expect(sandbox.contact(audienceId, email(700))?.status).toBe('subscribed')
    // 3 chunks of at most 500: the contract's bound, met exactly. The audience's opt-in setting is the one
    // testAuthentication read when the host connected.
    expect(sandbox.counters.byRoute).toEqual({
      'POST /3.0/lists/{list_id}': 3,
      'POST /3.0/lists/{list_id}/segments/{segment_id}': 3
    })

    sandbox.resetCounters()
    const leavers = Array.from({ length: 300 }, (_, n) => engage(email(n), false, tagId))
    const joiners = Array.from({ length: 200 }, (_, n) => engage(email(5000 + n), true, tagId))
    const strangers = [engage(email(9000), false, tagId)] // never tagged: already as wanted
    const delta = await sync(destination, [...leavers, ...joiners, ...strangers])
    expect(statusCounts(delta)).toEqual({ 200: 501 })
    expect(delta.slice(0, 300).every((r) => r.body?.result === 'removed')).toBe(true)
    expect(delta.slice(300, 500).every((r) => r.body?.result === 'created_and_added')).toBe(true)
    expect(delta[500].body?.result).toBe('not_tagged')
    const members = new Set(sandbox.tagMembers(audienceId, Number(tagId)))
    expect(members.size).toBe(1200 - 300 + 200)
    expect(members.has(email(0))).toBe(false)
    expect(members.has(email(300))).toBe(true)
    expect(members.has(email(5000))).toBe(true)
    expect(sandbox.contact(audienceId, email(0))?.status).toBe('unsubscribed') // untagged, still in the audience
    expect(sandbox.counters.byRoute).toEqual({
      'POST /3.0/lists/{list_id}': 1,
      'POST /3.0/lists/{list_id}/segments/{segment_id}': 1
    })
  })

  it('reads the audience’s opt-in setting once when the connection was tested in another process', async () => {
    const destination = host()
    const tagId = await connect(destination)
    // A host process that did not test the connection itself: nothing is cached there.
    memoryCache.clear()
    sandbox.resetCounters()
    const batch = (from: number) => Array.from({ length: 600 }, (_, n) => engage(email(from + n), true, tagId))
    expect(statusCounts(await sync(destination, batch(0)))).toEqual({ 200: 600 })
    expect(statusCounts(await sync(destination, batch(600)))).toEqual({ 200: 600 })
    expect(sandbox.counters.byRoute).toEqual({
      'GET /oauth2/metadata': 1,
      'GET /3.0/lists/{list_id}': 1,
      'POST /3.0/lists/{list_id}': 4,
      'POST /3.0/lists/{list_id}/segments/{segment_id}': 4
    })
  })

  it('creates pending contacts on a double opt-in audience and reports Mailchimp’s refusals per contact', async () => {
    audienceId = sandbox.addAudience({ name: 'Double opt-in', double_optin: true })
    sandbox.forget(audienceId, 'gone@mail.sample-shop.dev')
    const destination = host()
    const tagId = await connect(destination)
    const results = await sync(destination, [
      engage('new@mail.sample-shop.dev', true, tagId),
      engage('fake@example.com', true, tagId),
      engage('gone@mail.sample-shop.dev', true, tagId),
      engage('not an email', true, tagId)
    ])
    expect(results.map((r) => r.status)).toEqual([200, 400, 400, 400])
    expect(results[1].errormessage).toMatch(/looks fake or invalid/)
    expect(results[2].errormessage).toMatch(/permanently deleted/)
    expect(results[3].errormessage).toMatch(/Not an email address/)
    expect(sandbox.contact(audienceId, 'new@mail.sample-shop.dev')?.status).toBe('pending')
    expect(sandbox.tagMembers(audienceId, Number(tagId))).toEqual(['new@mail.sample-shop.dev'])
  })

  it('matches addresses ignoring case and spaces: the last event wins and the tag holds the first spelling', async () => {
    const destination = host()
    const tagId = await connect(destination)
    const results = await sync(destination, [
      engage('Ada@Mail.Sample-Shop.dev', true, tagId),
      engage('  ada@mail.sample-shop.dev ', false, tagId),
      engage('ADA@MAIL.SAMPLE-SHOP.DEV', true, tagId)
    ])
    expect(results.map((r) => r.status)).toEqual([200, 200, 200])
    expect(sandbox.contacts(audienceId).map((c) => c.email_address)).toEqual(['ADA@MAIL.SAMPLE-SHOP.DEV'])
    expect(sandbox.tagMembers(audienceId, Number(tagId))).toHaveLength(1)
  })

  it('re-creates a tag deleted in Mailchimp by the cohort name and goes on', async () => {
    const destination = host()
    const tagId = await connect(destination)
    await sync(destination, [engage(email(1), true, tagId)])
    sandbox.deleteTag(audienceId, Number(tagId))

    const [result] = await sync(destination, [engage(email(2), true, tagId, { cohortName: 'Power users' })])
    expect(result.status).toBe(200)
    const [tag] = sandbox.tags(audienceId)
    expect(tag.name).toBe('Power users')
    expect(String(tag.id)).not.toBe(tagId)
    expect(result.body?.tag_id).toBe(String(tag.id))
    expect(sandbox.tagMembers(audienceId, tag.id)).toEqual([email(2)])
  })
})

describe('beyond the peers, against the sandbox', () => {
  it('writes merge fields on new and existing contacts without touching any status', async () => {
    sandbox.addContacts(audienceId, [
      { email_address: email(1), status: 'unsubscribed', merge_fields: { FNAME: 'Old', LNAME: 'Kept' } },
      { email_address: email(2), status: 'pending' }
    ])
    const destination = host()
    const tagId = await connect(destination)
    const withDetails = (n: number, details: Record<string, string>) => {
      const event = engage(email(n), true, tagId)
      event.traits = { ...event.traits, details }
      return event
    }
    const results = await sync(
      destination,
      [
        withDetails(0, { FNAME: 'Ada', PHONE: '555-0100' }),
        withDetails(1, { fname: 'New', LNAME: '' }),
        withDetails(2, { FNAME: 'Pat' }),
        withDetails(3, { NICKNAME: 'x' })
      ],
      { merge_fields: { '@path': '$.traits.details' } }
    )

    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 400])
    expect(results[3].errormessage).toMatch(/Unknown merge field "NICKNAME"/)
    expect(sandbox.contact(audienceId, email(0))).toMatchObject({
      status: 'subscribed',
      merge_fields: { FNAME: 'Ada', PHONE: '555-0100' }
    })
    // A blank value leaves what Mailchimp holds; the status stays as it was.
    expect(sandbox.contact(audienceId, email(1))).toMatchObject({
      status: 'unsubscribed',
      merge_fields: { FNAME: 'New', LNAME: 'Kept' }
    })
    expect(sandbox.contact(audienceId, email(2))).toMatchObject({ status: 'pending', merge_fields: { FNAME: 'Pat' } })
    expect(sandbox.contact(audienceId, email(3))).toBeUndefined()
    expect(sandbox.tagMembers(audienceId, Number(tagId)).sort()).toEqual([email(0), email(1), email(2)].sort())
  })

  it('permanently deletes a contact on a deletion request when turned on, and Mailchimp then refuses it', async () => {
    const destination = host()
    const tagId = await connect(destination)
    await sync(destination, [engage(email(1), true, tagId)])
    const deletion = { type: 'delete', userId: email(1), anonymousId: null } as unknown as SegmentEvent

    await expect(destination.onDelete!(deletion, settings())).resolves.toEqual({
      output: 'Not deleted: "Permanently Delete Contacts on Deletion Requests" is off for this destination.'
    })
    expect(sandbox.contact(audienceId, email(1))).toBeDefined()

    const on = { ...settings(), delete_contacts_on_request: true }
    await expect(destination.onDelete!(deletion, on)).resolves.toEqual({
      output: `Contact permanently deleted from audience ${audienceId}.`
    })
    expect(sandbox.contact(audienceId, email(1))).toBeUndefined()
    await expect(destination.onDelete!(deletion, on)).resolves.toEqual({
      output: `No contact with this address in audience ${audienceId}: nothing to delete.`
    })
    const [again] = await sync(destination, [engage(email(1), true, tagId)])
    expect(again.status).toBe(400)
    expect(again.errormessage).toMatch(/permanently deleted/)
  })

  it('mirrors a Reverse ETL model: added and updated rows join the tag, deleted rows leave it', async () => {
    const destination = host()
    const tagId = await connect(destination)
    const row = (event: string, address: string): SegmentEvent => ({
      type: 'track',
      event,
      properties: { email: address }
    })
    const { oauth, ...actionSettings } = settings()
    const run = (events: SegmentEvent[]) =>
      destination.executeBatch('syncCohort', {
        events,
        mapping: {
          ...defaultValues(destination.definition.actions.syncCohort.fields),
          external_audience_id: tagId,
          __segment_internal_sync_mode: 'mirror'
        },
        settings: actionSettings,
        auth: { accessToken: oauth.access_token, refreshToken: '' }
      })
    await run([row('new', email(1)), row('new', email(2)), row('new', email(3))])
    expect(sandbox.tagMembers(audienceId, Number(tagId)).sort()).toEqual([email(1), email(2), email(3)].sort())
    const results = await run([row('deleted', email(2)), row('updated', email(4))])
    expect(results.map((r) => r.status)).toEqual([200, 200])
    expect(sandbox.tagMembers(audienceId, Number(tagId)).sort()).toEqual([email(1), email(3), email(4)].sort())
    expect(sandbox.contact(audienceId, email(2))).toBeDefined()
  })
})

describe('requests in flight', () => {
  it('lets one batch use the account’s whole share, up to Mailchimp’s 10, lookups and upserts included', async () => {
    sandbox.setLatency(25)
    sandbox.addContacts(
      audienceId,
      Array.from({ length: 600 }, (_, n) => ({ email_address: email(n), status: 'subscribed' as const }))
    )
    const destination = host()
    // Three cohorts known only by name (their tags are looked up and created), contacts with merge fields.
    const events = Array.from({ length: 900 }, (_, n) => {
      const event = engage(email(n), true, undefined, { cohortName: `Cohort ${n % 3}` })
      event.traits = { ...event.traits, details: { FNAME: `N${n}` } }
      return event
    })
    const results = await sync(destination, events, { merge_fields: { '@path': '$.traits.details' } })
    expect(statusCounts(results)).toEqual({ 200: 900 })
    expect(sandbox.counters.byRoute['PUT /3.0/lists/{list_id}/members/{subscriber_hash}']).toBe(600)
    // The share starts at 8 and grows while nothing is throttled; the sandbox would answer an 11th with a 429.
    expect(sandbox.counters.peakInFlight).toBe(10)
    expect(sandbox.counters.throttled).toBe(0)
    expect(
      sandbox
        .tags(audienceId)
        .map((t) => t.name)
        .sort()
    ).toEqual(['Cohort 0', 'Cohort 1', 'Cohort 2'])
  }, 30_000)

  it('says merge_fields written only for the tag whose sync wrote them', async () => {
    sandbox.addContacts(audienceId, [{ email_address: email(1), status: 'subscribed' }])
    const destination = host()
    const alpha = await connect(destination, 'Alpha')
    const gamma = await connect(destination, 'Gamma')
    const withDetails = (tagId: string, first: string, status: string): SegmentEvent => {
      const event = engage(email(1), true, tagId)
      event.traits = { ...event.traits, details: { FNAME: first }, status }
      return event
    }
    const results = await sync(
      destination,
      [withDetails(alpha, 'Ann', 'audience_default'), withDetails(gamma, 'Gus', 'skip')],
      { merge_fields: { '@path': '$.traits.details' }, status_if_new: { '@path': '$.traits.status' } }
    )
    expect(results.map((r) => [r.status, r.body?.merge_fields])).toEqual([
      [200, 'written'],
      [200, 'not_written']
    ])
    expect(sandbox.contact(audienceId, email(1))?.merge_fields).toMatchObject({ FNAME: 'Ann' })
  })
})
