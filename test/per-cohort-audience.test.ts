import { createTestIntegration } from '@segment/actions-core'
import type { AudienceDestinationDefinition, DynamicFieldResponse, GlobalSetting } from '@segment/actions-core'
import definition, { mailchimpCohorts } from '../src'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'
import { subscribeAnswer, tagAnswer } from './answers'
import { api, AUDIENCE_ID, metadata, problem, rejectionOf, settings as hostSettings, tag, TOKEN } from './helpers'
import { engage, statusCounts, syncBatch } from './sandbox-host'

// One destination instance, many audiences: a cohort's own Mailchimp Audience ID (audience settings) sends its tag
// to that audience of the same account; the destination's Audience ID stays the default.

const SANDBOX_TOKEN = 'sandbox-token'
const email = (n: number) => `person${n}@mail.sample-shop.dev`

describe('against the sandbox: two audiences of one account through one destination instance', () => {
  let sandbox: MailchimpSandbox
  let newsletter: string
  let customers: string
  let destination: ReturnType<typeof hostFor>

  const hostFor = (s: MailchimpSandbox) => createTestIntegration(mailchimpCohorts({ endpoints: s.endpoints }))
  const settings = () => ({ audience_id: newsletter, email_property: 'email', oauth: { access_token: SANDBOX_TOKEN } })
  const auth = { accessToken: SANDBOX_TOKEN, refreshToken: '' }

  beforeEach(async () => {
    sandbox = await startSandbox()
    newsletter = sandbox.addAudience({ name: 'Newsletter' })
    customers = sandbox.addAudience({
      name: 'Customers',
      double_optin: true,
      merge_fields: [
        { tag: 'FNAME', name: 'First Name' },
        { tag: 'PLAN', name: 'Plan' }
      ]
    })
    sandbox.addContacts(newsletter, [{ email_address: email(0), status: 'subscribed' }])
    destination = hostFor(sandbox)
  })

  afterEach(async () => {
    await sandbox.close()
  })

  it('syncs two cohorts into two audiences: each tag, contact, status and merge field lands in its own audience', async () => {
    const inCustomers = { audience_id: customers }
    const buyers = await destination.createAudience({
      settings: settings(),
      audienceName: 'Buyers',
      audienceSettings: inCustomers
    })
    const readers = await destination.createAudience({ settings: settings(), audienceName: 'Readers' })
    expect(sandbox.tags(customers).map((t) => t.name)).toEqual(['Buyers'])
    expect(sandbox.tags(newsletter).map((t) => t.name)).toEqual(['Readers'])

    const buyerEvents = [1, 2, 3].map((n) => {
      const event = engage(email(n), true, buyers.externalId, { audienceSettings: inCustomers })
      return { ...event, traits: { ...event.traits, plan: 'pro' } }
    })
    const bought = await syncBatch(destination, buyerEvents, {
      audienceId: newsletter,
      token: SANDBOX_TOKEN,
      mapping: { merge_fields: { PLAN: { '@path': '$.traits.plan' } } }
    })
    const read = await syncBatch(
      destination,
      [0, 1].map((n) => engage(email(n), true, readers.externalId)),
      { audienceId: newsletter, token: SANDBOX_TOKEN }
    )

    expect(statusCounts(bought)).toEqual({ 200: 3 })
    expect(bought.map((r) => r.body?.result)).toEqual(Array(3).fill('created_and_added'))
    expect(read.map((r) => r.body?.result)).toEqual(['added', 'created_and_added'])
    expect(sandbox.tagMembers(customers, 'Buyers').sort()).toEqual([email(1), email(2), email(3)])
    expect(sandbox.tagMembers(newsletter, 'Readers').sort()).toEqual([email(0), email(1)])
    // Customers asks new contacts to confirm (double opt-in) and has PLAN; Newsletter has neither.
    expect([1, 2, 3].map((n) => sandbox.contact(customers, email(n))?.status)).toEqual(Array(3).fill('pending'))
    expect(sandbox.contact(customers, email(1))?.merge_fields).toEqual({ PLAN: 'pro' })
    expect(sandbox.contact(newsletter, email(1))?.status).toBe('subscribed')
    expect(sandbox.contact(newsletter, email(2))).toBeUndefined()

    // getAudience looks for the tag where it lives.
    await expect(
      destination.getAudience({ settings: settings(), externalId: buyers.externalId, audienceSettings: inCustomers })
    ).resolves.toEqual({ externalId: buyers.externalId })
    await expect(destination.getAudience({ settings: settings(), externalId: buyers.externalId })).rejects.toThrow(
      new RegExp(`tag ${buyers.externalId} no longer exists in audience "${newsletter}"`)
    )
  })

  it('keeps tag ids per audience: one cohort name is two tags in two audiences, each synced on its own', async () => {
    const inCustomers = { audience_id: customers }
    const there = await destination.createAudience({
      settings: settings(),
      audienceName: 'Winback',
      audienceSettings: inCustomers
    })
    const here = await destination.createAudience({ settings: settings(), audienceName: 'Winback' })
    expect(there.externalId).not.toBe(here.externalId)

    // By name only: the tag id comes from each audience's cache entry, never the other audience's.
    const byName = (n: number, audienceSettings?: { audience_id: string }) =>
      engage(email(n), true, undefined, { cohortName: 'Winback', audienceSettings })
    const results = [
      ...(await syncBatch(destination, [byName(5, inCustomers)], { audienceId: newsletter, token: SANDBOX_TOKEN })),
      ...(await syncBatch(destination, [byName(6)], { audienceId: newsletter, token: SANDBOX_TOKEN }))
    ]

    expect(results.map((r) => r.body?.tag_id)).toEqual([there.externalId, here.externalId])
    expect(sandbox.tagMembers(customers, 'Winback')).toEqual([email(5)])
    expect(sandbox.tagMembers(newsletter, 'Winback')).toEqual([email(6)])
  })

  it('refuses an unknown cohort audience at createAudience, naming its ID and the audiences the token can see', async () => {
    const error = await rejectionOf<Error & { status?: number }>(
      destination.createAudience({
        settings: settings(),
        audienceName: 'Buyers',
        audienceSettings: { audience_id: 'f00f00f00f' }
      })
    )

    expect(error.message).toContain('no audience "f00f00f00f"')
    expect(error.message).toContain("Fix the cohort's Mailchimp Audience ID (audience_id in its audience settings)")
    expect(error.message).toContain(
      `Audiences this connection can see: "Newsletter" (${newsletter}), "Customers" (${customers}).`
    )
    expect(sandbox.tags(newsletter)).toEqual([])
    expect(sandbox.tags(customers)).toEqual([])
  })

  it('refuses a cohort audience ID that is not letters and digits before any request, naming the cohort field', async () => {
    sandbox.resetCounters()
    const error = await rejectionOf(
      destination.createAudience({ settings: settings(), audienceName: 'X', audienceSettings: { audience_id: '../x' } })
    )
    expect(error.message).toMatch(
      /^The cohort's Mailchimp Audience ID \(audience_id in its audience settings\) must be letters and digits/
    )
    expect(sandbox.counters.total).toBe(0)
  })

  it('fails every event of a cohort whose audience is gone with 404, naming the cohort field and the audiences', async () => {
    const results = await syncBatch(
      destination,
      [1, 2].map((n) =>
        engage(email(n), true, undefined, { cohortName: 'Buyers', audienceSettings: { audience_id: 'f00f00f00f' } })
      ),
      { audienceId: newsletter, token: SANDBOX_TOKEN }
    )

    expect(statusCounts(results)).toEqual({ 404: 2 })
    for (const result of results) {
      expect(result.errormessage).toMatch(/no audience "f00f00f00f".*audience_id in its audience settings/)
      expect(result.errormessage).toContain(`"Customers" (${customers})`)
    }
    expect(sandbox.contacts(newsletter).map((c) => c.email_address)).toEqual([email(0)])
  })

  it("offers the cohort audience's merge fields in the Merge Fields picker", async () => {
    const response = (await destination.testDynamicField('syncCohort', 'merge_fields.__keys__', {
      settings: settings(),
      audienceSettings: { audience_id: customers },
      auth,
      payload: {}
    })) as DynamicFieldResponse
    expect(response.choices.map((c) => c.value)).toEqual(['FNAME', 'PLAN'])
  })

  it('lets the operator pick the audience from the account: name, ID and contact count, narrowed by what is typed', async () => {
    sandbox.addContacts(customers, [
      { email_address: email(8), status: 'subscribed' },
      { email_address: email(9), status: 'subscribed' }
    ])
    const { audienceFields } = destination.definition as AudienceDestinationDefinition
    const pick = audienceFields.audience_id.dynamic as NonNullable<GlobalSetting['dynamic']>
    const all = (await destination.testDynamicField(
      'syncCohort',
      'audience_id',
      { settings: settings(), auth, payload: {} },
      pick
    )) as DynamicFieldResponse
    expect(all.choices).toEqual([
      {
        label: `Newsletter — ${newsletter} — 1 subscribed contact`,
        value: newsletter,
        description: `Audience ID ${newsletter}; 1 subscribed contact (Mailchimp's count of active contacts).`
      },
      {
        label: `Customers — ${customers} — 2 subscribed contacts`,
        value: customers,
        description: `Audience ID ${customers}; 2 subscribed contacts (Mailchimp's count of active contacts).`
      }
    ])

    const typed = (await destination.testDynamicField(
      'syncCohort',
      'audience_id',
      { settings: settings(), auth, payload: {}, dynamicFieldContext: { query: 'cust' } },
      pick
    )) as DynamicFieldResponse
    expect(typed.choices.map((c) => c.value)).toEqual([customers])
  })
})

describe('over recorded HTTP: the requests a cohort audience makes', () => {
  const OTHER = 'b2c3d4e5f6'
  const destination = createTestIntegration(definition)
  const inOther = { audience_id: OTHER }

  it('creates the tag in the cohort audience, not in the destination one', async () => {
    metadata()
    const page = {
      type: 'static',
      count: '1000',
      offset: '0',
      fields: 'segments.id,segments.name,segments.type,total_items'
    }
    api().get(`/3.0/lists/${OTHER}/segments`).query(page).reply(200, { segments: [], total_items: 0 })
    const create = api()
      .post(`/3.0/lists/${OTHER}/segments`, { name: 'Buyers', static_segment: [] })
      .reply(200, tag(77, 'Buyers'))
    api()
      .get(`/3.0/lists/${OTHER}/segments`)
      .query(page)
      .reply(200, { segments: [tag(77, 'Buyers')], total_items: 1 })

    await expect(
      destination.createAudience({ settings: hostSettings, audienceName: 'Buyers', audienceSettings: inOther })
    ).resolves.toEqual({ externalId: '77' })
    expect(create.isDone()).toBe(true)
  })

  it('confirms the tag in the cohort audience at getAudience', async () => {
    metadata()
    const found = api()
      .get(`/3.0/lists/${OTHER}/segments/77`)
      .query({ fields: 'id,name,type' })
      .reply(200, tag(77, 'Buyers'))
    await expect(
      destination.getAudience({ settings: hostSettings, externalId: '77', audienceSettings: inOther })
    ).resolves.toEqual({ externalId: '77' })
    expect(found.isDone()).toBe(true)
  })

  it('sends a batch to the cohort audience: its opt-in default, batch subscribe and tag call', async () => {
    metadata()
    const optIn = api()
      .get(`/3.0/lists/${OTHER}`)
      .query({ fields: 'id,name,double_optin' })
      .reply(200, { id: OTHER, name: 'Customers', double_optin: true })
    const creating = api()
      .post(`/3.0/lists/${OTHER}`, {
        members: [{ email_address: 'ada@mail.sample-shop.dev', status: 'pending' }],
        update_existing: false
      })
      .query({ skip_merge_validation: 'true' })
      .reply(200, subscribeAnswer({ created: [{ email: 'ada@mail.sample-shop.dev', status: 'pending' }] }))
    const tagging = api()
      .post(`/3.0/lists/${OTHER}/segments/77`, { members_to_add: ['ada@mail.sample-shop.dev'] })
      .reply(200, tagAnswer({ added: [{ email: 'ada@mail.sample-shop.dev', status: 'pending' }] }))

    const results = await syncBatch(
      destination,
      [engage('ada@mail.sample-shop.dev', true, '77', { audienceSettings: inOther })],
      {
        audienceId: AUDIENCE_ID,
        token: TOKEN
      }
    )

    expect(results).toMatchObject([{ status: 200, body: { result: 'created_and_added', tag_id: '77' } }])
    expect(optIn.isDone() && creating.isDone() && tagging.isDone()).toBe(true)
  })

  it('names the audiences the token can see when the cohort audience is unknown, with one GET /lists', async () => {
    metadata()
    api()
      .get(`/3.0/lists/${OTHER}/segments`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    const listing = api()
      .get('/3.0/lists')
      .query({ fields: 'lists.id,lists.name,lists.stats.member_count,total_items', count: '5', offset: '0' })
      .once()
      .reply(200, { lists: [{ id: AUDIENCE_ID, name: 'Newsletter', stats: { member_count: 3 } }], total_items: 1 })

    const error = await rejectionOf(
      destination.createAudience({ settings: hostSettings, audienceName: 'Buyers', audienceSettings: inOther })
    )
    expect(error.message).toBe(
      `Mailchimp has no audience "${OTHER}" in this account. Fix the cohort's Mailchimp Audience ID (audience_id in its audience settings), or leave it empty to use the destination's Audience ID. Audiences this connection can see: "Newsletter" (${AUDIENCE_ID}). In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.`
    )
    expect(listing.isDone()).toBe(true)
  })

  it('lists every audience for the picker, a thousand a request, and reports a refused token in the picker', async () => {
    metadata()
    const fields = 'lists.id,lists.name,lists.stats.member_count,total_items'
    const first = Array.from({ length: 1000 }, (_, n) => ({ id: `a${String(n).padStart(9, '0')}`, name: `A${n}` }))
    api()
      .get('/3.0/lists')
      .query({ fields, count: '1000', offset: '0' })
      .reply(200, { lists: first, total_items: 1001 })
    api()
      .get('/3.0/lists')
      .query({ fields, count: '1000', offset: '1000' })
      .reply(200, { lists: [{ id: 'z000000000', name: 'Last', stats: { member_count: 1234 } }], total_items: 1001 })
    const pick = definition.authentication?.fields.audience_id.dynamic as NonNullable<GlobalSetting['dynamic']>

    const response = (await destination.testDynamicField(
      'syncCohort',
      'audience_id',
      { settings: hostSettings, payload: {} },
      pick
    )) as DynamicFieldResponse
    expect(response.choices).toHaveLength(1001)
    expect(response.choices[0]).toEqual({
      label: 'A0 — a000000000',
      value: 'a000000000',
      description: 'Audience ID a000000000.'
    })
    expect(response.choices[1000].label).toBe('Last — z000000000 — 1,234 subscribed contacts')

    api()
      .get('/3.0/lists')
      .query(true)
      .reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.'))
    const refused = (await destination.testDynamicField(
      'syncCohort',
      'audience_id',
      { settings: hostSettings, payload: {} },
      pick
    )) as DynamicFieldResponse
    expect(refused.choices).toEqual([])
    expect(refused.error?.message).toMatch(
      /^Could not list the Mailchimp audiences: .*Reconnect Mailchimp.*You can still type the Audience ID/
    )
  })
})
