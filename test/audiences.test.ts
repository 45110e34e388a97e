import { createTestIntegration, IntegrationError } from '@segment/actions-core'
import definition from '../src'
import {
  AUDIENCE_ID,
  api,
  metadata,
  problem,
  settings,
  tag,
  expectNotRequested,
  firstAudiences,
  rejectionOf
} from './helpers'

const destination = createTestIntegration(definition)
const SEGMENTS = `/3.0/lists/${AUDIENCE_ID}/segments`
const LIST_QUERY = {
  type: 'static',
  count: '1000',
  offset: '0',
  fields: 'segments.id,segments.name,segments.type,total_items'
}

function tagsPage(tags: ReturnType<typeof tag>[], total = tags.length, offset = 0) {
  return api()
    .get(SEGMENTS)
    .query({ ...LIST_QUERY, offset: String(offset) })
    .reply(200, { segments: tags, total_items: total, list_id: AUDIENCE_ID })
}

describe('createAudience', () => {
  it('creates an empty tag named after the cohort and returns its id', async () => {
    metadata()
    tagsPage([tag(1, 'Other cohort')])
    const create = api()
      .post(SEGMENTS, { name: 'Power users', static_segment: [] })
      .reply(200, tag(4242, 'Power users'))
    tagsPage([tag(1, 'Other cohort'), tag(4242, 'Power users')])

    const result = await destination.createAudience({ settings, audienceName: 'Power users' })

    expect(result).toEqual({ externalId: '4242' })
    expect(create.isDone()).toBe(true)
  })

  it('uses the Tag Name audience setting over the cohort name', async () => {
    metadata()
    tagsPage([])
    api().post(SEGMENTS, { name: 'VIP', static_segment: [] }).reply(200, tag(7, 'VIP'))
    tagsPage([tag(7, 'VIP')])

    const result = await destination.createAudience({
      settings,
      audienceName: 'power_users_computation',
      audienceSettings: { tag_name: '  VIP ' }
    })

    expect(result).toEqual({ externalId: '7' })
  })

  it('reuses an existing tag whose name differs only in letter case, creating nothing', async () => {
    metadata()
    tagsPage([tag(1, 'Other'), tag(99, 'POWER Users')])
    const create = api().post(SEGMENTS).reply(200, tag(100, 'Power users'))

    const result = await destination.createAudience({ settings, audienceName: 'power users' })

    expect(result).toEqual({ externalId: '99' })
    expectNotRequested(create)
  })

  it('accepts a name of 87 characters', async () => {
    const name = 'é'.repeat(80) + '🙂'.repeat(7) // 87 code points, 94 UTF-16 units
    metadata()
    tagsPage([])
    api().post(SEGMENTS, { name, static_segment: [] }).reply(200, tag(5, name))
    tagsPage([tag(5, name)])

    await expect(destination.createAudience({ settings, audienceName: name })).resolves.toEqual({ externalId: '5' })
  })

  it('refuses a name of 88 characters, says so, and creates nothing', async () => {
    const lookup = metadata()
    const create = api().post(SEGMENTS).reply(200, tag(5, 'x'))

    const error = (await destination
      .createAudience({ settings, audienceName: 'a'.repeat(88) })
      .catch((e: Error) => e)) as Error & { status?: number }

    expect(error.message).toContain('88')
    expect(error.message).toMatch(/fewer than 88 characters/)
    expect(error.status).toBe(400)
    expectNotRequested(lookup, create)
  })

  it('refuses an empty name', async () => {
    await expect(destination.createAudience({ settings, audienceName: '   ' })).rejects.toThrow(/tag name is empty/)
  })

  it('looks the tag up again when a concurrent worker created it first', async () => {
    metadata()
    tagsPage([])
    api()
      .post(SEGMENTS)
      .reply(...problem(400, 'Invalid Resource', 'Sorry, a tag with that name already exists.'))
    tagsPage([tag(31, 'Power Users')])

    const result = await destination.createAudience({ settings, audienceName: 'Power Users' })

    expect(result).toEqual({ externalId: '31' })
  })

  it('settles on the older tag and deletes its own when Mailchimp accepted a concurrent duplicate', async () => {
    metadata()
    tagsPage([])
    api().post(SEGMENTS).reply(200, tag(32, 'Power Users'))
    tagsPage([tag(32, 'Power Users'), tag(31, 'power users')])
    const removeOurs = api().delete(`${SEGMENTS}/32`).reply(204)

    const result = await destination.createAudience({ settings, audienceName: 'Power Users' })

    expect(result).toEqual({ externalId: '31' })
    expect(removeOurs.isDone()).toBe(true)
  })

  it('passes Mailchimp’s reason on when a create fails and no tag appeared', async () => {
    metadata()
    tagsPage([])
    api()
      .post(SEGMENTS)
      .reply(...problem(400, 'Invalid Resource', 'The resource submitted could not be validated.'))
    tagsPage([])

    await expect(destination.createAudience({ settings, audienceName: 'Power Users' })).rejects.toThrow(
      /could not be validated/
    )
  })

  it('creates one tag when two calls ask for it at once', async () => {
    metadata()
    tagsPage([])
    const create = api().post(SEGMENTS).once().reply(200, tag(8, 'Churned'))
    tagsPage([tag(8, 'Churned')])

    const [a, b] = await Promise.all([
      destination.createAudience({ settings, audienceName: 'Churned' }),
      destination.createAudience({ settings, audienceName: 'churned' })
    ])

    expect(a).toEqual({ externalId: '8' })
    expect(b).toEqual({ externalId: '8' })
    expect(create.isDone()).toBe(true)
  })

  it('finds a tag beyond the first 1,000 by paging', async () => {
    const first = Array.from({ length: 1000 }, (_, i) => tag(i + 1, `Tag ${i + 1}`))
    const second = Array.from({ length: 500 }, (_, i) => tag(i + 1001, `Tag ${i + 1001}`))
    second[321] = tag(1322, 'Lapsed buyers')
    metadata()
    tagsPage(first, 1500, 0)
    tagsPage(second, 1500, 1000)
    const create = api().post(SEGMENTS).reply(200, tag(9999, 'Lapsed buyers'))

    const result = await destination.createAudience({ settings, audienceName: 'LAPSED BUYERS' })

    expect(result).toEqual({ externalId: '1322' })
    expectNotRequested(create)
  })

  it('creates the tag after reading every page of an audience with 2,000 tags', async () => {
    const page = (from: number) => Array.from({ length: 1000 }, (_, i) => tag(from + i, `Tag ${from + i}`))
    metadata()
    const first = tagsPage(page(1), 2000, 0)
    const second = tagsPage(page(1001), 2000, 1000)
    api().post(SEGMENTS, { name: 'New cohort', static_segment: [] }).reply(200, tag(3000, 'New cohort'))
    tagsPage(page(1), 2001, 0)
    tagsPage(page(1001), 2001, 1000)
    tagsPage([tag(3000, 'New cohort')], 2001, 2000)

    await expect(destination.createAudience({ settings, audienceName: 'New cohort' })).resolves.toEqual({
      externalId: '3000'
    })
    expect(first.isDone() && second.isDone()).toBe(true)
  })

  it('asks for the data center once, but never hands out a cached tag that was deleted since', async () => {
    metadata(1) // a second metadata request would find no recorded answer and fail
    tagsPage([tag(31, 'Winback')])
    await expect(destination.createAudience({ settings, audienceName: 'Winback' })).resolves.toEqual({
      externalId: '31'
    })

    // The operator deletes the tag in Mailchimp, then connects the cohort again.
    tagsPage([])
    api().post(SEGMENTS, { name: 'Winback', static_segment: [] }).reply(200, tag(40, 'Winback'))
    tagsPage([tag(40, 'Winback')])
    await expect(destination.createAudience({ settings, audienceName: 'Winback' })).resolves.toEqual({
      externalId: '40'
    })
  })

  it('names the audience ID when the audience does not exist, and the audiences the token can see', async () => {
    metadata()
    api()
      .get(SEGMENTS)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    firstAudiences([{ id: 'b2c3d4e5f6', name: 'Customers' }])

    const error = await rejectionOf(destination.createAudience({ settings, audienceName: 'X' }))
    expect(error.message).toContain(`"${AUDIENCE_ID}"`)
    expect(error.message).toContain('Audiences this connection can see: "Customers" (b2c3d4e5f6).')
  })
})

describe('getAudience', () => {
  it('returns the tag id when the tag exists', async () => {
    metadata()
    api().get(`${SEGMENTS}/4242`).query({ fields: 'id,name,type' }).reply(200, tag(4242, 'Power users'))

    await expect(destination.getAudience({ settings, externalId: '4242' })).resolves.toEqual({ externalId: '4242' })
  })

  const audienceExists = () =>
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })

  it('says clearly when the tag does not exist', async () => {
    metadata()
    api()
      .get(`${SEGMENTS}/4242`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    audienceExists()

    const error = await rejectionOf<IntegrationError>(destination.getAudience({ settings, externalId: '4242' }))

    expect(error.message).toMatch(/tag 4242 no longer exists/)
    expect(error.status).toBe(404)
  })

  it('blames the audience ID, not the tag, when the audience is gone', async () => {
    metadata()
    const notFound = problem(404, 'Resource Not Found', 'The requested resource could not be found.')
    api()
      .get(`${SEGMENTS}/4242`)
      .query(true)
      .reply(...notFound)
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(...notFound)
    firstAudiences([{ id: 'b2c3d4e5f6', name: 'Customers' }])

    const error = await rejectionOf<IntegrationError>(destination.getAudience({ settings, externalId: '4242' }))

    expect(error.message).toContain(`no audience "${AUDIENCE_ID}"`)
    expect(error.message).toContain('"Customers" (b2c3d4e5f6)')
    expect(error.message).toContain('audience_id')
    expect(error.status).toBe(404)
  })

  it('does not take a saved segment for a tag', async () => {
    metadata()
    api()
      .get(`${SEGMENTS}/77`)
      .query(true)
      .reply(200, { ...tag(77, 'Openers'), type: 'saved' })
    audienceExists()

    await expect(destination.getAudience({ settings, externalId: '77' })).rejects.toThrow(/tag 77 no longer exists/)
  })

  it('refuses a tag id that is not a number before any request', async () => {
    const lookup = metadata()
    await expect(destination.getAudience({ settings, externalId: '1/../../x' })).rejects.toThrow(/is a number/)
    expectNotRequested(lookup)
  })
})
