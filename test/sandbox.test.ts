import { createHash } from 'node:crypto'
import { request } from 'node:http'
import { startSandbox, type MailchimpSandbox } from '../src/sandbox'

const TOKEN = 'sandbox-token'
const bearer = { authorization: `Bearer ${TOKEN}` }
const oauth = { authorization: `OAuth ${TOKEN}` }
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const LIST = '57afe96172'
const hash = (email: string) => createHash('md5').update(email.trim().toLowerCase()).digest('hex')

let sandbox: MailchimpSandbox

interface Reply {
  status: number
  headers: Headers
  text: string
  json: any // eslint-disable-line @typescript-eslint/no-explicit-any -- answers are read field by field
}

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = bearer) {
  const res = await fetch(`${sandbox.url}${path}`, {
    method,
    headers: { ...headers, ...(body !== undefined && { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body)
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text ? JSON.parse(text) : undefined
  } catch {
    json = undefined
  }
  return { status: res.status, headers: res.headers, text, json } as Reply
}

/** node:http rather than fetch, which cannot send a foreign Host header. */
function rawCall(method: string, path: string, headers: Record<string, string>, body = ''): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${sandbox.url}${path}`, { method, headers }, (res) => {
      let text = ''
      res.on('data', (chunk) => (text += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, json: text && JSON.parse(text) } as Reply))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A request the client gives up on after `ms`. */
const abandon = (path: string, ms: number, init: RequestInit = {}) =>
  expect(
    fetch(`${sandbox.url}${path}`, { headers: bearer, ...init, signal: AbortSignal.timeout(ms) })
  ).rejects.toThrow()

const subscribe = (members: object[], extra: object = {}, query = '') =>
  call('POST', `/3.0/lists/${LIST}${query}`, { members, ...extra })

beforeEach(async () => {
  sandbox = await startSandbox()
  sandbox.addAudience({ id: LIST, name: 'Newsletter' })
})

afterEach(() => sandbox.close())

describe('authentication', () => {
  it('accepts the token as Bearer, as OAuth, and as the Basic password with any username', async () => {
    const basic = `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}`
    for (const authorization of [`Bearer ${TOKEN}`, `OAuth ${TOKEN}`, basic]) {
      expect((await call('GET', '/3.0/ping', undefined, { authorization })).status).toBe(200)
    }
  })

  it('answers 401 "API Key Invalid" as problem+json for a missing, unknown or revoked credential', async () => {
    const missing = await call('GET', '/3.0/ping', undefined, {})
    expect(missing.status).toBe(401)
    expect(missing.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
    expect(missing.json.title).toBe('API Key Invalid')
    expect((await call('GET', '/3.0/ping', undefined, { authorization: 'Bearer nope' })).status).toBe(401)
    sandbox.revokeToken(TOKEN)
    expect((await call('GET', '/oauth2/metadata', undefined, oauth)).status).toBe(401)
  })

  it('takes only the OAuth scheme on the metadata endpoint, refusing Bearer and Basic with 401 problem+json', async () => {
    const basic = `Basic ${Buffer.from(`anyone:${TOKEN}`).toString('base64')}`
    for (const method of ['GET', 'POST']) {
      expect((await call(method, '/oauth2/metadata', undefined, oauth)).status).toBe(200)
      for (const authorization of [`Bearer ${TOKEN}`, basic]) {
        const refused = await call(method, '/oauth2/metadata', undefined, { authorization })
        expect(refused.status).toBe(401)
        expect(refused.headers.get('content-type')).toBe('application/problem+json; charset=utf-8')
        expect(refused.json.title).toBe('API Key Invalid')
      }
    }
  })
})

describe('account endpoints', () => {
  it('answers the metadata call with the configured data center and the sandbox as api_endpoint', async () => {
    await sandbox.close()
    sandbox = await startSandbox({ dataCenter: 'us6' })
    const reply = await call('GET', '/oauth2/metadata', undefined, { authorization: `OAuth ${TOKEN}` })
    expect(reply.json).toMatchObject({ dc: 'us6', role: 'owner', api_endpoint: sandbox.url })
    expect(sandbox.endpoints.metadataUrl).toBe(`${sandbox.url}/oauth2/metadata`)
    expect(sandbox.endpoints.apiBaseUrl('us6')).toBe(`${sandbox.url}/3.0`)
  })

  it("pings as Everything's Chimpy and names the account at the root", async () => {
    expect((await call('GET', '/3.0/ping')).json).toEqual({ health_status: "Everything's Chimpy!" })
    expect((await call('GET', '/3.0/')).json).toMatchObject({ account_name: 'Sandbox', role: 'owner' })
  })
})

describe('audiences', () => {
  it('answers an audience with its opt-in setting and subscribed count, narrowed by fields', async () => {
    sandbox.addContacts(LIST, [
      { email_address: 'a@acme.io', status: 'subscribed' },
      { email_address: 'b@acme.io', status: 'unsubscribed' }
    ])
    const full = await call('GET', `/3.0/lists/${LIST}`)
    expect(full.json).toMatchObject({ id: LIST, name: 'Newsletter', double_optin: false, stats: { member_count: 1 } })
    const narrow = await call('GET', `/3.0/lists/${LIST}?fields=id,double_optin`)
    expect(narrow.json).toEqual({ id: LIST, double_optin: false })
    const dotted = await call('GET', `/3.0/lists/${LIST}?fields=stats.member_count`)
    expect(dotted.json).toEqual({ stats: { member_count: 1 } })
    expect((await call('GET', `/3.0/lists/${LIST}?exclude_fields=stats`)).json.stats).toBeUndefined()
  })

  it("lists the account's audiences count at a time from offset (default 10), narrowed by fields", async () => {
    for (let n = 1; n <= 11; n++) sandbox.addAudience({ id: `b${String(n).padStart(9, '0')}`, name: `Audience ${n}` })
    const first = await call('GET', '/3.0/lists')
    expect(first.json.lists).toHaveLength(10)
    expect(first.json.total_items).toBe(12)
    const page = await call(
      'GET',
      '/3.0/lists?fields=lists.id,lists.name,lists.stats.member_count,total_items&count=2&offset=1'
    )
    expect(page.json).toEqual({
      lists: [
        { id: 'b000000001', name: 'Audience 1', stats: { member_count: 0 } },
        { id: 'b000000002', name: 'Audience 2', stats: { member_count: 0 } }
      ],
      total_items: 12
    })
    expect((await call('GET', '/3.0/lists?count=1001')).status).toBe(400)
  })

  it('answers 404 Resource Not Found for an unknown audience', async () => {
    const reply = await call('GET', '/3.0/lists/ffffffffff')
    expect(reply.status).toBe(404)
    expect(reply.json).toMatchObject({
      title: 'Resource Not Found',
      detail: 'The requested resource could not be found.'
    })
  })
})

describe('batch subscribe', () => {
  it('creates new contacts with each requested status and their tags', async () => {
    const statuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'] as const
    const reply = await subscribe(
      statuses.map((status) => ({ email_address: `${status}@acme.io`, status, tags: ['T'] }))
    )
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({ total_created: 5, total_updated: 0, error_count: 0, errors: [] })
    expect(reply.json.new_members[0]).toMatchObject({
      id: hash('subscribed@acme.io'),
      email_address: 'subscribed@acme.io',
      status: 'subscribed',
      tags: [{ name: 'T' }],
      tags_count: 1,
      list_id: LIST
    })
    for (const status of statuses) expect(sandbox.contact(LIST, `${status}@acme.io`)?.status).toBe(status)
  })

  it('refuses an existing contact with ERROR_CONTACT_EXISTS and leaves it alone without update_existing', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'Ann@Acme.io', status: 'unsubscribed' }])
    const reply = await subscribe([{ email_address: ' ann@acme.io', status: 'subscribed', tags: ['VIP'] }])
    expect(reply.json.errors).toEqual([
      {
        email_address: ' ann@acme.io',
        error:
          'ann@acme.io is already a list member, do you want to update? please provide update_existing:true in the request body',
        error_code: 'ERROR_CONTACT_EXISTS',
        field: '',
        field_message: ''
      }
    ])
    expect(sandbox.contact(LIST, 'ANN@acme.io')).toMatchObject({
      email_address: 'Ann@Acme.io',
      status: 'unsubscribed',
      tags: []
    })
  })

  it('refuses to subscribe unsubscribed or cleaned contacts even with update_existing, but lets them go pending', async () => {
    sandbox.addContacts(LIST, [
      { email_address: 'u@acme.io', status: 'unsubscribed' },
      { email_address: 'c@acme.io', status: 'cleaned' },
      { email_address: 'p@acme.io', status: 'unsubscribed' }
    ])
    const reply = await subscribe(
      [
        { email_address: 'u@acme.io', status: 'subscribed' },
        { email_address: 'c@acme.io', status: 'subscribed' },
        { email_address: 'p@acme.io', status: 'pending' }
      ],
      { update_existing: true }
    )
    expect(reply.json.errors.map((e: { error: string }) => e.error)).toEqual([
      'u@acme.io is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.',
      'c@acme.io is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.'
    ])
    expect(reply.json.total_updated).toBe(1)
    expect(sandbox.contact(LIST, 'p@acme.io')?.status).toBe('pending')
  })

  it('keeps an existing status when only status_if_new is sent, and only status unarchives', async () => {
    sandbox.addContacts(LIST, [
      { email_address: 'u@acme.io', status: 'unsubscribed' },
      { email_address: 'a@acme.io', status: 'archived' }
    ])
    const rows = [
      { email_address: 'u@acme.io', status_if_new: 'subscribed', tags: ['Cohort'] },
      { email_address: 'a@acme.io', status_if_new: 'subscribed' }
    ]
    const reply = await subscribe(rows, { update_existing: true })
    expect(reply.json).toMatchObject({ total_updated: 2, error_count: 0 })
    expect(sandbox.contact(LIST, 'u@acme.io')).toMatchObject({ status: 'unsubscribed', tags: ['Cohort'] })
    expect(sandbox.contact(LIST, 'a@acme.io')?.status).toBe('archived')
    await subscribe([{ email_address: 'a@acme.io', status: 'transactional' }], { update_existing: true })
    expect(sandbox.contact(LIST, 'a@acme.io')?.status).toBe('transactional')
  })

  it('refuses fake, forgotten and invalid addresses row by row with ERROR_GENERIC', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'gone@acme.io', status: 'subscribed' }])
    sandbox.forget(LIST, 'gone@acme.io')
    const reply = await subscribe([
      { email_address: 'bob@example.com', status: 'subscribed' },
      { email_address: 'Gone@acme.io', status: 'pending' },
      { email_address: 'not-an-email', status: 'subscribed' },
      { email_address: 'ok@acme.io', status: 'subscribed' }
    ])
    expect(reply.json.total_created).toBe(1)
    expect(reply.json.errors).toMatchObject([
      {
        error_code: 'ERROR_GENERIC',
        error: 'bob@example.com looks fake or invalid, please enter a real email address.'
      },
      {
        error_code: 'ERROR_GENERIC',
        error:
          'Gone@acme.io was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.'
      },
      { error_code: 'ERROR_GENERIC', error: 'Please provide a valid email address.' }
    ])
    expect(sandbox.contact(LIST, 'gone@acme.io')).toBeUndefined()
  })

  it('refuses more than 500 members, or a member without any status, as Invalid Resource', async () => {
    const many = Array.from({ length: 501 }, (_, i) => ({ email_address: `c${i}@acme.io`, status: 'subscribed' }))
    const tooMany = await subscribe(many)
    expect(tooMany.status).toBe(400)
    expect(tooMany.json.title).toBe('Invalid Resource')
    const noStatus = await subscribe([{ email_address: 'a@acme.io' }])
    expect(noStatus.status).toBe(400)
    expect(noStatus.json.errors).toEqual([{ field: 'members.0.status', message: expect.any(String) }])
    expect(sandbox.contacts(LIST)).toEqual([])
  })

  it('refuses every copy of a duplicated address unless skip_duplicate_check, where the first copy wins', async () => {
    const rows = [
      { email_address: 'd@acme.io', status: 'pending' },
      { email_address: 'D@acme.io ', status: 'subscribed' }
    ]
    expect((await subscribe(rows)).json).toMatchObject({ error_count: 2, total_created: 0 })
    const skipped = await subscribe(rows, {}, '?skip_duplicate_check=true')
    expect(skipped.json).toMatchObject({ error_count: 0, total_created: 1 })
    expect(sandbox.contact(LIST, 'd@acme.io')).toMatchObject({ email_address: 'd@acme.io', status: 'pending' })
  })
})

describe('merge fields', () => {
  const member = (email: string) => `/3.0/lists/${LIST}/members/${hash(email)}`
  const invalid = (field: string, field_message: string) => ({
    error_code: 'ERROR_GENERIC',
    error: 'Your merge fields were invalid.',
    field,
    field_message
  })

  it("lists Mailchimp's default merge fields for a new audience, paged and narrowed by fields", async () => {
    const reply = await call('GET', `/3.0/lists/${LIST}/merge-fields`)
    expect(reply.json).toMatchObject({ list_id: LIST, total_items: 5 })
    expect(reply.json.merge_fields[0]).toEqual({
      merge_id: 1,
      tag: 'FNAME',
      name: 'First Name',
      type: 'text',
      required: false,
      default_value: '',
      public: true,
      display_order: 2,
      list_id: LIST
    })
    const typed = reply.json.merge_fields.map((f: { tag: string; name: string; type: string }) => [
      f.tag,
      f.name,
      f.type
    ])
    expect(typed).toEqual([
      ['FNAME', 'First Name', 'text'],
      ['LNAME', 'Last Name', 'text'],
      ['ADDRESS', 'Address', 'address'],
      ['PHONE', 'Phone Number', 'phone'],
      ['BIRTHDAY', 'Birthday', 'birthday']
    ])
    const page = await call(
      'GET',
      `/3.0/lists/${LIST}/merge-fields?count=2&offset=3&fields=merge_fields.tag,total_items`
    )
    expect(page.json).toEqual({ merge_fields: [{ tag: 'PHONE' }, { tag: 'BIRTHDAY' }], total_items: 5 })
    expect((await call('GET', `/3.0/lists/${LIST}/merge-fields?count=1001`)).status).toBe(400)
    expect((await call('GET', '/3.0/lists/ffffffffff/merge-fields')).status).toBe(404)
  })

  it('lists seeded merge fields, defaulting type to text and required to false', async () => {
    const id = sandbox.addAudience({
      merge_fields: [
        { tag: 'PLAN', name: 'Plan' },
        { tag: 'SEATS', name: 'Seats', type: 'number', required: true }
      ]
    })
    const { json } = await call(
      'GET',
      `/3.0/lists/${id}/merge-fields?fields=merge_fields.tag,merge_fields.type,merge_fields.required`
    )
    expect(json.merge_fields).toEqual([
      { tag: 'PLAN', type: 'text', required: false },
      { tag: 'SEATS', type: 'number', required: true }
    ])
  })

  it('stores values under the audience tags matched ignoring case, and refuses unknown tags and bad shapes row by row', async () => {
    const address = { addr1: '1 Main St', city: 'Atlanta', state: 'GA', zip: '30308', country: 'US' }
    const reply = await subscribe([
      {
        email_address: 'a@acme.io',
        status: 'subscribed',
        merge_fields: { fname: 'Ann', Phone: 5551234, ADDRESS: address }
      },
      { email_address: 'b@acme.io', status: 'subscribed', merge_fields: { FNAME: 'Bob', NICK: 'B' } },
      { email_address: 'c@acme.io', status: 'subscribed', merge_fields: { ADDRESS: 12 } },
      { email_address: 'd@acme.io', status: 'subscribed', merge_fields: { FNAME: ['D'] } },
      { email_address: 'e@acme.io', status: 'subscribed', merge_fields: { ADDRESS: { addr1: '1 Main St' } } },
      {
        email_address: 'f@acme.io',
        status: 'subscribed',
        merge_fields: { ADDRESS: '1 Main St, Atlanta', BIRTHDAY: '01/31' }
      }
    ])
    expect(reply.json).toMatchObject({ total_created: 2, error_count: 4 })
    expect(reply.json.errors).toEqual([
      { email_address: 'b@acme.io', ...invalid('NICK', 'Merge field NICK does not exist.') },
      { email_address: 'c@acme.io', ...invalid('ADDRESS', 'Merge field ADDRESS has an invalid value.') },
      { email_address: 'd@acme.io', ...invalid('FNAME', 'Merge field FNAME has an invalid value.') },
      { email_address: 'e@acme.io', ...invalid('ADDRESS', 'Merge field ADDRESS has an invalid value.') }
    ])
    expect(reply.json.new_members[0].merge_fields).toEqual({ FNAME: 'Ann', PHONE: 5551234, ADDRESS: address })
    expect(sandbox.contact(LIST, 'a@acme.io')?.merge_fields).toEqual({ FNAME: 'Ann', PHONE: 5551234, ADDRESS: address })
    expect(sandbox.contact(LIST, 'b@acme.io')).toBeUndefined()
  })

  it('requires required merge fields on new contacts only, unless skip_merge_validation', async () => {
    const id = sandbox.addAudience({ merge_fields: [{ tag: 'FNAME', name: 'First Name', required: true }] })
    sandbox.addContacts(id, [{ email_address: 'old@acme.io', status: 'subscribed' }])
    const rows = [
      { email_address: 'new@acme.io', status: 'subscribed' },
      { email_address: 'blank@acme.io', status: 'subscribed', merge_fields: { FNAME: '' } },
      { email_address: 'old@acme.io', status: 'subscribed' }
    ]
    const reply = await call('POST', `/3.0/lists/${id}`, { members: rows, update_existing: true })
    expect(reply.json).toMatchObject({ total_created: 0, total_updated: 1, error_count: 2 })
    expect(reply.json.errors[0]).toEqual({
      email_address: 'new@acme.io',
      ...invalid('FNAME', 'Merge field FNAME is required.')
    })
    const skipped = await call('POST', `/3.0/lists/${id}?skip_merge_validation=true`, { members: rows.slice(0, 2) })
    expect(skipped.json).toMatchObject({ total_created: 2, error_count: 0 })
  })

  it('merges given fields into an existing contact with update_existing, keeping its status on status_if_new', async () => {
    sandbox.addContacts(LIST, [
      { email_address: 'u@acme.io', status: 'unsubscribed', tags: ['T'], merge_fields: { FNAME: 'Una', LNAME: 'Old' } }
    ])
    const row = {
      email_address: 'u@acme.io',
      status_if_new: 'subscribed',
      merge_fields: { lname: 'New', PHONE: '555' }
    }
    const reply = await subscribe([row], { update_existing: true })
    expect(reply.json.updated_members).toEqual([
      expect.objectContaining({
        email_address: 'u@acme.io',
        status: 'unsubscribed',
        tags: [expect.objectContaining({ name: 'T' })],
        merge_fields: { FNAME: 'Una', LNAME: 'New', PHONE: '555' }
      })
    ])
    expect(sandbox.contact(LIST, 'u@acme.io')?.merge_fields).toEqual({ FNAME: 'Una', LNAME: 'New', PHONE: '555' })
    const refused = await subscribe([{ ...row, merge_fields: { FNAME: 'Nope' } }])
    expect(refused.json.errors[0].error_code).toBe('ERROR_CONTACT_EXISTS')
    const bad = await subscribe([{ ...row, merge_fields: { FNAME: 'Nope', NICK: 'x' } }], { update_existing: true })
    expect(bad.json.errors[0]).toMatchObject(invalid('NICK', 'Merge field NICK does not exist.'))
    expect(sandbox.contact(LIST, 'u@acme.io')?.merge_fields.FNAME).toBe('Una')
  })

  it('answers PUT and POST on members with 400 Invalid Resource and an errors array for invalid merge fields', async () => {
    const put = await call('PUT', member('a@acme.io'), {
      email_address: 'a@acme.io',
      status_if_new: 'subscribed',
      merge_fields: { NICK: 'A' }
    })
    expect(put.json).toMatchObject({
      status: 400,
      title: 'Invalid Resource',
      detail: 'Your merge fields were invalid.',
      errors: [{ field: 'NICK', message: 'Merge field NICK does not exist.' }]
    })
    const post = await call('POST', `/3.0/lists/${LIST}/members`, {
      email_address: 'a@acme.io',
      status: 'pending',
      merge_fields: { BIRTHDAY: {} }
    })
    expect(post.json).toMatchObject({ status: 400, errors: [{ field: 'BIRTHDAY' }] })
    expect(sandbox.contact(LIST, 'a@acme.io')).toBeUndefined()
    const created = await call('PUT', member('a@acme.io'), {
      email_address: 'a@acme.io',
      status_if_new: 'subscribed',
      merge_fields: { fname: 'A' }
    })
    expect(created.json.merge_fields).toEqual({ FNAME: 'A' })
    const id = sandbox.addAudience({ merge_fields: [{ tag: 'FNAME', name: 'First Name', required: true }] })
    const required = await call('POST', `/3.0/lists/${id}/members`, { email_address: 'b@acme.io', status: 'pending' })
    expect(required.json.errors).toEqual([{ field: 'FNAME', message: 'Merge field FNAME is required.' }])
    const skipped = await call('POST', `/3.0/lists/${id}/members?skip_merge_validation=true`, {
      email_address: 'b@acme.io',
      status: 'pending'
    })
    expect(skipped.status).toBe(200)
  })
})

describe('tags as static segments', () => {
  const create = (body: object) => call('POST', `/3.0/lists/${LIST}/segments`, body)

  it('creates a tag from static_segment, ignoring addresses not on the audience', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'a@acme.io', status: 'subscribed' }])
    const reply = await create({ name: 'Cohort A', static_segment: ['A@acme.io', 'stranger@acme.io'] })
    expect(reply.status).toBe(200)
    expect(reply.json).toMatchObject({ name: 'Cohort A', type: 'static', member_count: 1, list_id: LIST })
    expect(sandbox.tagMembers(LIST, 'cohort a')).toEqual(['a@acme.io'])
    expect(sandbox.contact(LIST, 'stranger@acme.io')).toBeUndefined()
  })

  it('refuses a name already taken in another letter case, a body with neither field, and a missing name', async () => {
    await create({ name: 'VIP', static_segment: [] })
    const taken = await create({ name: 'vip', static_segment: [] })
    expect(taken.status).toBe(400)
    expect(taken.json.title).toBe('Invalid Resource')
    const neither = await create({ name: 'New' })
    expect(neither.json.detail).toBe('Must provide either an "options" field or a "static_segment" field')
    const nameless = await create({ static_segment: [] })
    expect(nameless.json).toMatchObject({ status: 400, title: 'Invalid Resource', errors: [{ field: 'name' }] })
    expect(sandbox.tags(LIST).map((t) => t.name)).toEqual(['VIP'])
  })

  it('lists tags page by page with total_items and dotted fields, refusing count over 1000', async () => {
    for (const name of ['A', 'B', 'C']) await create({ name, static_segment: [] })
    await create({ name: 'Saved', options: { match: 'all', conditions: [] } })
    const page = await call('GET', `/3.0/lists/${LIST}/segments?type=static&count=2&offset=1`)
    expect(page.json).toMatchObject({ total_items: 3, list_id: LIST })
    expect(page.json.segments.map((s: { name: string }) => s.name)).toEqual(['B', 'C'])
    const fields = 'segments.id,segments.name,total_items'
    const narrow = await call('GET', `/3.0/lists/${LIST}/segments?type=static&fields=${fields}`)
    expect(Object.keys(narrow.json)).toEqual(['segments', 'total_items'])
    expect(Object.keys(narrow.json.segments[0])).toEqual(['id', 'name'])
    expect((await call('GET', `/3.0/lists/${LIST}/segments`)).json.total_items).toBe(4)
    expect((await call('GET', `/3.0/lists/${LIST}/segments?count=1001`)).status).toBe(400)
  })

  it('gets, renames and deletes one tag, and answers 404 for an unknown id', async () => {
    const { id } = (await create({ name: 'Old', static_segment: [] })).json
    expect((await call('GET', `/3.0/lists/${LIST}/segments/${id}`)).json.name).toBe('Old')
    expect((await call('PATCH', `/3.0/lists/${LIST}/segments/${id}`, { name: 'New' })).json.name).toBe('New')
    const deleted = await call('DELETE', `/3.0/lists/${LIST}/segments/${id}`)
    expect(deleted).toMatchObject({ status: 204, text: '' })
    expect((await call('GET', `/3.0/lists/${LIST}/segments/${id}`)).status).toBe(404)
  })

  it('finds tags by case-insensitive name prefix', async () => {
    for (const name of ['Cohort One', 'cohort two', 'Other']) await create({ name, static_segment: [] })
    const reply = await call('GET', `/3.0/lists/${LIST}/tag-search?name=COHORT`)
    expect(reply.json).toMatchObject({ total_items: 2, tags: [{ name: 'Cohort One' }, { name: 'cohort two' }] })
    expect((await call('GET', `/3.0/lists/${LIST}/tag-search`)).json.total_items).toBe(3)
  })
})

describe('batch add and remove on a tag', () => {
  let tagId: number
  const batch = (body: object, id: number | string = tagId) => call('POST', `/3.0/lists/${LIST}/segments/${id}`, body)

  beforeEach(() => {
    sandbox.addContacts(LIST, [
      { email_address: 'in@acme.io', status: 'subscribed', tags: ['Cohort'] },
      { email_address: 'out@acme.io', status: 'unsubscribed' },
      { email_address: 'arch@acme.io', status: 'archived' }
    ])
    tagId = sandbox.tags(LIST)[0].id
  })

  it('adds and removes contacts, leaving out strangers, archived contacts and changes that already hold', async () => {
    const reply = await batch({
      members_to_add: ['OUT@acme.io', 'in@acme.io', 'stranger@acme.io', 'arch@acme.io'],
      members_to_remove: ['in@acme.io', 'nobody@acme.io']
    })
    expect(reply.json).toMatchObject({ total_added: 1, total_removed: 1, error_count: 0, errors: [] })
    expect(reply.json.members_added[0]).toMatchObject({ email_address: 'out@acme.io', status: 'unsubscribed' })
    expect(reply.json.members_removed[0].email_address).toBe('in@acme.io')
    expect(sandbox.tagMembers(LIST, tagId)).toEqual(['out@acme.io'])
    expect(sandbox.contact(LIST, 'stranger@acme.io')).toBeUndefined()
  })

  it('answers member objects whole, _links and all, when asked for Mailchimp-sized answers', async () => {
    sandbox.setAnswers('mailchimp')
    const whole = await batch({ members_to_add: ['out@acme.io'] })
    const member = whole.json.members_added[0]
    expect(member).toMatchObject({ email_address: 'out@acme.io', status: 'unsubscribed', list_id: LIST })
    expect(member.stats.ecommerce_data).toEqual({ total_revenue: 0, number_of_orders: 0, currency_code: 'USD' })
    expect(member._links.map((link: { rel: string }) => link.rel)).toEqual([
      'self',
      'parent',
      'update',
      'upsert',
      'delete',
      'activity',
      'goals',
      'notes',
      'events',
      'delete_permanent'
    ])
    expect(JSON.stringify(member).length).toBeGreaterThan(2500)

    sandbox.setAnswers('lean')
    const lean = await batch({ members_to_remove: ['out@acme.io'] })
    expect(lean.json.members_removed[0]._links).toBeUndefined()
    expect(JSON.stringify(lean.json.members_removed[0]).length).toBeLessThan(1000)
  })

  it('refuses more than 500 addresses on either side', async () => {
    const emails = Array.from({ length: 501 }, (_, i) => `c${i}@acme.io`)
    const reply = await batch({ members_to_remove: emails })
    expect(reply.status).toBe(400)
    expect(reply.json.title).toBe('Invalid Resource')
    expect(reply.json.detail).toMatch(/^Maximum allowed member items exceeded/)
  })

  it('refuses an unknown or saved segment id as a missing static segment', async () => {
    const missing = await batch({ members_to_add: ['in@acme.io'] }, 999)
    expect(missing.status).toBe(400)
    expect(missing.json.detail).toBe('A Static Segment with an id of 999 does not exist for this list')
    const saved = await call('POST', `/3.0/lists/${LIST}/segments`, { name: 'S', options: { match: 'any' } })
    expect((await batch({ members_to_add: ['in@acme.io'] }, saved.json.id)).status).toBe(400)
  })

  it('pages tag members, leaving unsubscribed contacts out unless include_unsubscribed', async () => {
    const emails = Array.from({ length: 5 }, (_, i) => `m${i}@acme.io`)
    sandbox.addContacts(
      LIST,
      emails.map((email_address) => ({ email_address, status: 'subscribed' as const, tags: ['Cohort'] }))
    )
    await batch({ members_to_add: ['out@acme.io'] })
    const path = `/3.0/lists/${LIST}/segments/${tagId}/members`
    const page = await call('GET', `${path}?count=2&offset=4`)
    expect(page.json.total_items).toBe(6)
    expect(page.json.members.map((m: { email_address: string }) => m.email_address)).toEqual([
      'm3@acme.io',
      'm4@acme.io'
    ])
    expect((await call('GET', `${path}?include_unsubscribed=true`)).json.total_items).toBe(7)
    expect((await call('GET', `${path}?count=1001`)).status).toBe(400)
  })

  it('pages what the tag holds now: a change between two pages shows in the next one', async () => {
    const path = `/3.0/lists/${LIST}/segments/${tagId}/members`
    expect((await call('GET', path)).json.total_items).toBe(1)
    await batch({ members_to_add: ['arch@acme.io', 'late@acme.io'] })
    sandbox.addContacts(LIST, [{ email_address: 'seeded@acme.io', status: 'subscribed', tags: ['Cohort'] }])
    const after = (await call('GET', path)).json
    expect(after.total_items).toBe(2)
    expect(after.members.map((m: { email_address: string }) => m.email_address)).toEqual([
      'in@acme.io',
      'seeded@acme.io'
    ])
    await batch({ members_to_remove: ['in@acme.io'] })
    expect((await call('GET', path)).json.members.map((m: { email_address: string }) => m.email_address)).toEqual([
      'seeded@acme.io'
    ])
  })
})

describe('single members', () => {
  const member = (email: string, suffix = '') => `/3.0/lists/${LIST}/members/${hash(email)}${suffix}`

  it('gets a contact by subscriber hash or raw address, and answers 404 for a stranger', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'Ann@Acme.io', status: 'pending' }])
    expect((await call('GET', member('ann@acme.io'))).json).toMatchObject({
      id: hash('ann@acme.io'),
      status: 'pending'
    })
    expect((await call('GET', `/3.0/lists/${LIST}/members/ann%40acme.io`)).status).toBe(200)
    expect((await call('GET', member('who@acme.io'))).status).toBe(404)
  })

  it('upserts with PUT: status_if_new creates or keeps, status overwrites except into subscribed from unsubscribed', async () => {
    const created = await call('PUT', member('new@acme.io'), { email_address: 'new@acme.io', status_if_new: 'pending' })
    expect(created.json.status).toBe('pending')
    sandbox.addContacts(LIST, [{ email_address: 'u@acme.io', status: 'unsubscribed' }])
    expect((await call('PUT', member('u@acme.io'), { status_if_new: 'subscribed' })).json.status).toBe('unsubscribed')
    const refused = await call('PUT', member('u@acme.io'), { status: 'subscribed' })
    expect(refused.json).toMatchObject({ status: 400, title: 'Member In Compliance State' })
    expect((await call('PUT', member('u@acme.io'), { status: 'transactional' })).json.status).toBe('transactional')
    const fake = await call('PUT', member('x@test.com'), { email_address: 'x@test.com', status_if_new: 'pending' })
    expect(fake.json.title).toBe('Invalid Resource')
    expect((await call('PUT', member('y@acme.io'), { email_address: 'y@acme.io' })).status).toBe(400)
  })

  it('adds and removes tags by name, creating an unknown active tag, and answers 404 for a stranger', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'a@acme.io', status: 'subscribed', tags: ['Old'] }])
    const tags = [
      { name: 'old', status: 'inactive' },
      { name: 'Brand New', status: 'active' }
    ]
    const reply = await call('POST', member('a@acme.io', '/tags'), { tags, is_syncing: true })
    expect(reply).toMatchObject({ status: 204, text: '' })
    expect(sandbox.contact(LIST, 'a@acme.io')?.tags).toEqual(['Brand New'])
    expect((await call('POST', member('b@acme.io', '/tags'), { tags })).status).toBe(404)
  })

  it('forgets a permanently deleted contact: 404 on GET, and re-import refused by PUT and batch', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'a@acme.io', status: 'subscribed', tags: ['T'] }])
    expect((await call('POST', member('a@acme.io', '/actions/delete-permanent'))).status).toBe(204)
    expect((await call('GET', member('a@acme.io'))).status).toBe(404)
    expect(sandbox.tagMembers(LIST, 'T')).toEqual([])
    const put = await call('PUT', member('a@acme.io'), { email_address: 'a@acme.io', status_if_new: 'pending' })
    expect(put.json).toMatchObject({ status: 400, title: 'Forgotten Email Not Subscribed' })
    expect((await subscribe([{ email_address: 'a@acme.io', status: 'pending' }])).json.error_count).toBe(1)
    expect((await call('POST', member('b@acme.io', '/actions/delete-permanent'))).status).toBe(404)
  })

  it('refuses POST for an existing address with Member Exists, and archives on DELETE except pending contacts', async () => {
    sandbox.addContacts(LIST, [{ email_address: 'a@acme.io', status: 'subscribed' }])
    const exists = await call('POST', `/3.0/lists/${LIST}/members`, {
      email_address: 'A@acme.io',
      status: 'subscribed'
    })
    expect(exists.json).toMatchObject({
      title: 'Member Exists',
      detail: 'A@acme.io is already a list member. Use PUT to insert or update list members.'
    })
    const created = await call('POST', `/3.0/lists/${LIST}/members`, { email_address: 'b@acme.io', status: 'pending' })
    expect(created.json).toMatchObject({ status: 'pending', email_address: 'b@acme.io' })
    expect((await call('DELETE', member('a@acme.io'))).status).toBe(204)
    expect(sandbox.contact(LIST, 'a@acme.io')?.status).toBe('archived')
    expect((await call('DELETE', member('b@acme.io'))).status).toBe(405)
  })
})

describe('errors', () => {
  it('answers problem+json with type, title, status, detail, instance and an X-Request-Id on every answer', async () => {
    const reply = await call('GET', '/3.0/nowhere')
    expect(reply.status).toBe(404)
    expect(reply.json).toEqual({
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title: 'Resource Not Found',
      status: 404,
      detail: 'The requested resource could not be found.',
      instance: expect.stringMatching(/^[0-9a-f-]{36}$/)
    })
    expect(reply.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect((await call('GET', '/3.0/ping')).headers.get('x-request-id')).toBeTruthy()
  })

  it('answers 405 for a wrong method, JSON Parse Exception for bad JSON, and 400 for a body over 10 MB', async () => {
    expect((await call('DELETE', '/3.0/ping')).json.title).toBe('Method Not Allowed')
    const bad = await call('POST', `/3.0/lists/${LIST}/segments`, '{"name":')
    expect(bad.json).toMatchObject({ status: 400, title: 'JSON Parse Exception' })
    const huge = await call('POST', `/3.0/lists/${LIST}/segments`, `"${'x'.repeat(11 * 1024 * 1024)}"`)
    expect(huge.status).toBe(400)
  })
})

describe('concurrency cap', () => {
  it('answers the eleventh concurrent request 429 at once and counts it as throttled', async () => {
    sandbox.setLatency(150)
    const replies = await Promise.all(Array.from({ length: 11 }, () => call('GET', '/3.0/ping')))
    const throttled = replies.filter((r) => r.status === 429)
    expect(throttled).toHaveLength(1)
    expect(throttled[0].json.title).toBe('TooManyRequests')
    expect(sandbox.counters).toMatchObject({ throttled: 1, peakInFlight: 10, byStatus: { 200: 10, 429: 1 } })
  })

  it('counts requests in flight per credential, as Mailchimp limits each user', async () => {
    await sandbox.close()
    sandbox = await startSandbox({ maxConnections: 1, latencyMs: 100, tokens: ['one', 'two'] })
    const auth = (t: string) => ({ authorization: `Bearer ${t}` })
    const replies = await Promise.all(['one', 'two', 'one'].map((t) => call('GET', '/3.0/ping', undefined, auth(t))))
    expect(replies.map((r) => r.status).sort()).toEqual([200, 200, 429])
  })

  it('does its work on a request when it arrives and answers it the latency after its arrival', async () => {
    sandbox.setLatency(1500)
    let answered = false
    const created = call('POST', `/3.0/lists/${LIST}/segments`, { name: 'Early', static_segment: [] }).then((reply) => {
      answered = true
      return reply
    })
    try {
      // The tag exists while the answer is still on its way: the sandbox's own work is inside the latency, not after it.
      const deadline = Date.now() + 1000
      while (sandbox.tags(LIST).length === 0 && Date.now() < deadline) await pause(10)
      expect(sandbox.tags(LIST).map((t) => t.name)).toEqual(['Early'])
      expect(answered).toBe(false)
      expect((await created).status).toBe(200)
    } finally {
      // Later tests in this file run without latency, even when an expectation above failed.
      sandbox.setLatency(0)
    }
  })

  it('keeps the slot of a request whose client gave up until its work is done, and still applies it', async () => {
    await sandbox.close()
    sandbox = await startSandbox({ maxConnections: 1, latencyMs: 200 })
    sandbox.addAudience({ id: LIST })
    const body = JSON.stringify({ name: 'Late', static_segment: [] })
    const headers = { ...bearer, 'content-type': 'application/json' }
    await abandon(`/3.0/lists/${LIST}/segments`, 50, { method: 'POST', headers, body })
    expect((await call('GET', '/3.0/ping')).status).toBe(429)
    await pause(250)
    expect(sandbox.tags(LIST).map((t) => t.name)).toEqual(['Late'])
    expect(sandbox.counters).toMatchObject({ throttled: 1, peakInFlight: 1 })
    sandbox.setLatency(0)
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
  })
})

describe('injected faults', () => {
  const tagCount = () => sandbox.tags(LIST).length

  it('answers 429 with Retry-After to the next N matching requests only, changing nothing', async () => {
    sandbox.inject({ kind: 429, times: 2, method: 'POST', path: /\/segments$/, retryAfter: 3 })
    expect((await call('GET', `/3.0/lists/${LIST}/segments`)).status).toBe(200)
    for (let i = 0; i < 2; i++) {
      const reply = await call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })
      expect(reply.status).toBe(429)
      expect(reply.headers.get('retry-after')).toBe('3')
    }
    expect(tagCount()).toBe(0)
    expect((await call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })).status).toBe(200)
    expect(sandbox.counters.throttled).toBe(0)
  })

  it('answers 403 with an empty body, 502 with HTML, 500 and 503 and 401 as problem+json', async () => {
    const path = `/3.0/lists/${LIST}`
    for (const kind of [403, 502, 500, 503, 401] as const) sandbox.inject({ kind, path })
    const forbidden = await call('GET', path)
    expect(forbidden).toMatchObject({ status: 403, text: '' })
    expect(forbidden.headers.get('content-type')).toBeNull()
    const gateway = await call('GET', path)
    expect(gateway.status).toBe(502)
    expect(gateway.headers.get('content-type')).toBe('text/html')
    expect(gateway.text).toMatch(/^<html>/)
    expect((await call('GET', path)).json).toMatchObject({ status: 500, title: 'InternalServerError' })
    expect((await call('GET', path)).json.status).toBe(503)
    expect((await call('GET', path)).json.title).toBe('API Key Invalid')
    expect((await call('GET', path)).status).toBe(200)
  })

  it('resets the connection so fetch rejects, and the request changes nothing', async () => {
    sandbox.inject({ kind: 'reset' })
    await expect(call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })).rejects.toThrow()
    expect(tagCount()).toBe(0)
    expect(sandbox.counters.byStatus.reset).toBe(1)
  })

  it('stalls until the client gives up', async () => {
    sandbox.inject({ kind: 'stall' })
    await abandon('/3.0/ping', 100)
    expect(sandbox.counters.byStatus.stall).toBe(1)
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
  })

  describe('with one connection per user', () => {
    beforeEach(async () => {
      await sandbox.close()
      sandbox = await startSandbox({ maxConnections: 1, tokens: [TOKEN, 'other'] })
      sandbox.addAudience({ id: LIST })
    })

    it('holds a slot of the stalled credential after the client gives up, until holdMs, while other faults pass', async () => {
      sandbox.inject({ kind: 'stall', holdMs: 300 })
      await abandon('/3.0/ping', 50)
      expect((await call('GET', '/3.0/ping')).status).toBe(429)
      expect((await call('GET', '/3.0/ping', undefined, { authorization: 'Bearer other' })).status).toBe(200)
      sandbox.inject({ kind: 503 })
      expect((await call('GET', '/3.0/ping')).status).toBe(503)
      expect(sandbox.counters).toMatchObject({ throttled: 1, peakInFlight: 2, byStatus: { stall: 1 } })
      await pause(300)
      expect((await call('GET', '/3.0/ping')).status).toBe(200)
    })

    it('leaves a stall for the next request when the credential has no slot free', async () => {
      sandbox.inject({ kind: 'stall', times: 2 })
      await abandon('/3.0/ping', 50)
      expect((await call('GET', '/3.0/ping')).status).toBe(429)
      await abandon('/3.0/ping', 50, { headers: { authorization: 'Bearer other' } })
      expect(sandbox.counters).toMatchObject({ peakInFlight: 2, byStatus: { stall: 2, 429: 1 } })
    })
  })

  it('applies the request and then loses the answer when applied, answering the fault instead', async () => {
    for (const kind of [429, 500, 502, 503] as const) {
      sandbox.inject({ kind, applied: true, method: 'POST' })
      const reply = await subscribe([{ email_address: `${kind}@acme.io`, status: 'subscribed' }])
      expect(reply.status).toBe(kind)
      expect(sandbox.contact(LIST, `${kind}@acme.io`)?.status).toBe('subscribed')
    }
    sandbox.inject({ kind: 'reset', applied: true })
    await expect(call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })).rejects.toThrow()
    expect(tagCount()).toBe(1)
    expect(sandbox.counters.byStatus).toMatchObject({ 429: 1, 500: 1, 502: 1, 503: 1, reset: 1 })
    expect(sandbox.counters.throttled).toBe(0)
  })

  it('stalls after applying when applied, holding the slot', async () => {
    await sandbox.close()
    sandbox = await startSandbox({ maxConnections: 1 })
    sandbox.addAudience({ id: LIST })
    sandbox.inject({ kind: 'stall', applied: true, holdMs: 200 })
    const body = JSON.stringify({ name: 'T', static_segment: [] })
    const headers = { ...bearer, 'content-type': 'application/json' }
    await abandon(`/3.0/lists/${LIST}/segments`, 50, { method: 'POST', headers, body })
    expect(tagCount()).toBe(1)
    expect((await call('GET', '/3.0/ping')).status).toBe(429)
    await pause(200)
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
  })

  it('leaves an applied fault for the next request when the credential is refused', async () => {
    sandbox.inject({ kind: 500, applied: true })
    expect((await call('GET', '/3.0/ping', undefined, {})).status).toBe(401)
    expect((await call('GET', '/3.0/ping')).status).toBe(500)
  })

  it('ends stalled requests when the sandbox closes', async () => {
    sandbox.inject({ kind: 'stall' })
    const stalled = fetch(`${sandbox.url}/3.0/ping`, { headers: bearer })
    await new Promise((resolve) => setTimeout(resolve, 50))
    await sandbox.close()
    await expect(stalled).rejects.toThrow()
  })

  it('answers 200 with a truncated JSON body when malformed', async () => {
    sandbox.inject({ kind: 'malformed' })
    const reply = await call('GET', `/3.0/lists/${LIST}`)
    expect(reply.status).toBe(200)
    expect(() => JSON.parse(reply.text)).toThrow()
  })

  it('forgets every fault on clearFaults', async () => {
    sandbox.inject({ kind: 500, times: 5 })
    sandbox.clearFaults()
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
  })
})

describe('counters', () => {
  it('counts requests by route template and status, and resets', async () => {
    const { id } = (await call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })).json
    await call('POST', `/3.0/lists/${LIST}/segments/${id}`, { members_to_add: [] })
    await call('GET', '/oauth2/metadata', undefined, oauth)
    await call('GET', '/3.0/nowhere')
    await call('GET', '/_sandbox/counters')
    expect(sandbox.counters).toMatchObject({
      total: 4,
      byRoute: {
        'POST /3.0/lists/{list_id}/segments': 1,
        'POST /3.0/lists/{list_id}/segments/{segment_id}': 1,
        'GET /oauth2/metadata': 1,
        'GET /3.0/nowhere': 1
      },
      byStatus: { 200: 3, 404: 1 }
    })
    sandbox.resetCounters()
    expect(sandbox.counters).toEqual({ total: 0, byRoute: {}, byStatus: {}, throttled: 0, peakInFlight: 0 })
  })
})

describe('views', () => {
  it('show contacts, tags and members as stored, and delete a tag as an operator would', () => {
    sandbox.addContacts(LIST, [
      { email_address: ' Ann@Acme.io ', status: 'subscribed', tags: ['VIP'], merge_fields: { FNAME: 'Ann' } },
      { email_address: 'bob@acme.io', status: 'archived', tags: ['vip'] }
    ])
    expect(sandbox.contact(LIST, 'ann@acme.io ')).toEqual({
      email_address: 'Ann@Acme.io',
      status: 'subscribed',
      tags: ['VIP'],
      merge_fields: { FNAME: 'Ann' }
    })
    expect(sandbox.contacts(LIST)).toHaveLength(2)
    const [tag] = sandbox.tags(LIST)
    expect(tag).toEqual({ id: expect.any(Number), name: 'VIP', member_count: 2 })
    expect(sandbox.tagMembers(LIST, tag.id)).toEqual(['Ann@Acme.io', 'bob@acme.io'])
    sandbox.deleteTag(LIST, tag.id)
    expect(sandbox.tags(LIST)).toEqual([])
    expect(sandbox.contact(LIST, 'ann@acme.io')?.tags).toEqual([])
    expect(() => sandbox.contacts('nope')).toThrow()
  })
})

describe('admin HTTP API', () => {
  it('drives a sandbox from outside: audiences, contacts, tags, faults, latency and counters', async () => {
    const admin = (method: string, path: string, body?: unknown) => call(method, `/_sandbox${path}`, body, {})
    const { id } = (await admin('POST', '/audiences', { name: 'Other' })).json
    expect(id).toMatch(/^[0-9a-f]{10}$/)
    const seeds = [{ email_address: 'a@acme.io', status: 'subscribed', tags: ['T'] }]
    expect((await admin('POST', `/audiences/${id}/contacts`, seeds)).status).toBe(204)
    const tagId = sandbox.tags(id)[0].id
    expect((await admin('GET', `/audiences/${id}/tags/${tagId}/members`)).json).toEqual({ emails: ['a@acme.io'] })
    expect((await admin('GET', `/audiences/${id}/contacts`)).json).toEqual({
      contacts: [{ email_address: 'a@acme.io', status: 'subscribed', tags: ['T'] }]
    })
    expect((await admin('POST', '/faults', { kind: 503, pathPattern: '^/3\\.0/pi' })).status).toBe(204)
    expect((await call('GET', '/3.0/ping')).status).toBe(503)
    await admin('POST', '/faults', { kind: 500, path: '/3.0/ping', times: 3 })
    await admin('DELETE', '/faults')
    await admin('POST', '/latency', { ms: 60 })
    const started = Date.now()
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
    expect(Date.now() - started).toBeGreaterThanOrEqual(55)
    expect((await admin('GET', '/counters')).json).toMatchObject({ total: 2, byStatus: { 200: 1, 503: 1 } })
    expect((await admin('POST', '/reset-counters')).status).toBe(204)
    expect(sandbox.counters.total).toBe(0)
    expect((await admin('POST', '/faults', { kind: 418 })).status).toBe(400)
    expect((await admin('GET', '/audiences/nope/contacts')).status).toBe(400)
  })

  it('seeds an audience with merge fields and takes the applied and holdMs fault options', async () => {
    const merge_fields = [{ tag: 'PLAN', name: 'Plan', required: true }]
    const { id } = (await call('POST', '/_sandbox/audiences', { merge_fields }, {})).json
    expect((await call('GET', `/3.0/lists/${id}/merge-fields`)).json.merge_fields[0]).toMatchObject({
      tag: 'PLAN',
      required: true
    })
    // Applied: the tag is made, and only the answer is lost.
    const applied = { kind: 500, applied: true, pathPattern: `^/3\\.0/lists/${LIST}/segments$` }
    expect((await call('POST', '/_sandbox/faults', applied, {})).status).toBe(204)
    expect((await call('POST', `/3.0/lists/${LIST}/segments`, { name: 'T', static_segment: [] })).status).toBe(500)
    expect(sandbox.tags(LIST)).toHaveLength(1)
    // holdMs: the stalled request's connection is dropped once it has passed.
    const held = { kind: 'stall', holdMs: 30, pathPattern: '^/3\\.0/ping$' }
    expect((await call('POST', '/_sandbox/faults', held, {})).status).toBe(204)
    await expect(call('GET', '/3.0/ping')).rejects.toThrow()
  })

  it('refuses bodies not sent as application/json, a foreign Host, and a pathPattern over 200 characters', async () => {
    const host = new URL(sandbox.url).host
    const json = { host, 'content-type': 'application/json' }
    const spec = JSON.stringify({ kind: 500 })
    const text = await rawCall('POST', '/_sandbox/faults', { host, 'content-type': 'text/plain' }, spec)
    expect(text.json).toMatchObject({ status: 400, title: 'Sandbox Error' })
    expect((await rawCall('POST', '/_sandbox/faults', { host }, spec)).status).toBe(400)
    expect(
      (await rawCall('DELETE', '/_sandbox/faults', { host, 'content-type': 'application/x-www-form-urlencoded' }))
        .status
    ).toBe(400)
    expect((await rawCall('POST', '/_sandbox/reset-counters', { host })).status).toBe(204)
    expect((await rawCall('DELETE', '/_sandbox/faults', { host })).status).toBe(204)
    expect(
      (await rawCall('POST', '/_sandbox/faults', { ...json, host: `localhost:${new URL(sandbox.url).port}` }, spec))
        .status
    ).toBe(204)
    sandbox.clearFaults()
    for (const foreign of [
      'evil.example:80',
      `127.0.0.1.evil.example:${new URL(sandbox.url).port}`,
      'localhost.evil.example'
    ]) {
      const refused = await rawCall('POST', '/_sandbox/faults', { ...json, host: foreign }, spec)
      expect(refused).toMatchObject({ status: 403, json: { title: 'Forbidden' } })
    }
    expect((await rawCall('GET', '/_sandbox/counters', { host: 'evil.example' })).status).toBe(403)
    const long = JSON.stringify({ kind: 500, pathPattern: 'p'.repeat(201) })
    expect((await rawCall('POST', '/_sandbox/faults', json, long)).status).toBe(400)
    expect((await call('GET', '/3.0/ping')).status).toBe(200)
    expect((await rawCall('GET', '/3.0/ping', { ...bearer, host: 'evil.example' })).status).toBe(200)
  })
})
