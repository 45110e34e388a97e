import { createTestEvent, defaultValues, Destination } from '@segment/actions-core'
import type { SegmentEvent, StateContext } from '@segment/actions-core'
import { createServer } from 'http'
import type { IncomingMessage, ServerResponse } from 'http'
import type { AddressInfo } from 'net'
import definition, { mailchimpCohorts } from '../src'
import { MAILCHIMP_CONNECTIONS } from '../src/destinations/mailchimp-cohort/constants'
import { memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'
import { fields } from '../src/destinations/mailchimp-cohort/syncCohort/fields'
import { subscribeAnswer, tagAnswer } from './answers'
import type { MemberStatus } from './answers'
import { AUDIENCE_ID, api, LOGIN, TOKEN } from './helpers'
import nock from 'nock'

const LIST = `/3.0/lists/${AUDIENCE_ID}`
const settings = { audience_id: AUDIENCE_ID, email_property: 'email' }
const auth = { accessToken: TOKEN, refreshToken: '' }
const mapping = defaultValues(fields)

interface Rows {
  members: { email_address: string; status: MemberStatus }[]
}
interface TagBody {
  members_to_add?: string[]
  members_to_remove?: string[]
}

function cohort(
  count: number,
  { from = 0, inCohort = true, cohortName = 'Power users', tagId = '10' as string | null } = {}
) {
  return Array.from({ length: count }, (_, i) =>
    createTestEvent({
      type: 'identify',
      traits: { email: `u${from + i}@example.com`, in_cohort: inCohort },
      properties: { cohort_name: cohortName, in_cohort: inCohort },
      context: { personas: { external_audience_id: tagId ?? undefined } }
    } as Partial<SegmentEvent>)
  )
}

/** Mailchimp over nock, counting every request by kind; each answer confirms what was asked. */
function countingMailchimp() {
  const counts = { metadata: 0, audience: 0, subscribe: 0, tag: 0, listTags: 0, createTag: 0 }
  nock(LOGIN)
    .persist()
    .get('/oauth2/metadata')
    .reply(() => {
      counts.metadata++
      return [200, { dc: 'us6' }]
    })
  api()
    .persist()
    .get(LIST)
    .query(true)
    .reply(() => {
      counts.audience++
      return [200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false }]
    })
  api()
    .persist()
    .post(LIST)
    .query(true)
    .reply((_uri, body) => {
      counts.subscribe++
      const rows = (body as Rows).members
      return [200, subscribeAnswer({ created: rows.map((r) => ({ email: r.email_address, status: r.status })) })]
    })
  api()
    .persist()
    .get(`${LIST}/segments`)
    .query(true)
    .reply(() => {
      counts.listTags++
      const segments = counts.createTag > 0 ? [{ id: 20, name: 'Power users', type: 'static' }] : []
      return [200, { segments, total_items: segments.length }]
    })
  api()
    .persist()
    .post(`${LIST}/segments`)
    .reply(() => {
      counts.createTag++
      return [200, { id: 20, name: 'Power users', type: 'static' }]
    })
  api()
    .persist()
    .post(/\/segments\/\d+$/)
    .reply((_uri, body) => {
      counts.tag++
      const { members_to_add = [], members_to_remove = [] } = body as TagBody
      return [200, tagAnswer({ added: members_to_add, removed: members_to_remove })]
    })
  return counts
}

describe('request economy', () => {
  it('syncs 10,000 new contacts with 20 batch subscribe calls, 20 tag calls and one of each lookup', async () => {
    const counts = countingMailchimp()
    const host = new Destination(definition)

    const first = await host.executeBatch('syncCohort', { events: cohort(10_000), mapping, settings, auth })

    expect(first.filter((r) => r.status === 200)).toHaveLength(10_000)
    expect(counts).toEqual({ metadata: 1, audience: 1, subscribe: 20, tag: 20, listTags: 0, createTag: 0 })

    // The next batch finds the data center and the audience's setting in the cache.
    await host.executeBatch('syncCohort', { events: cohort(10_000, { from: 10_000 }), mapping, settings, auth })
    expect(counts).toEqual({ metadata: 1, audience: 1, subscribe: 40, tag: 40, listTags: 0, createTag: 0 })
    nock.cleanAll()
  }, 30_000)

  it('resolves a tag known only by its cohort name once, and removes without creating anyone', async () => {
    const counts = countingMailchimp()
    const host = new Destination(definition)
    const byName = { tagId: null }

    await host.executeBatch('syncCohort', { events: cohort(1000, byName), mapping, settings, auth })
    // Find (none), create, re-read to settle races: three calls, then cached.
    expect(counts).toEqual({ metadata: 1, audience: 1, subscribe: 2, tag: 2, listTags: 2, createTag: 1 })

    const leavers = cohort(1000, { ...byName, inCohort: false })
    const results = await host.executeBatch('syncCohort', { events: leavers, mapping, settings, auth })
    expect(results.filter((r) => r.status === 200)).toHaveLength(1000)
    expect(counts).toEqual({ metadata: 1, audience: 1, subscribe: 2, tag: 4, listTags: 2, createTag: 1 })
    nock.cleanAll()
  })

  it('keeps lookups in the host’s stateContext, so another worker asks Mailchimp nothing twice', async () => {
    const counts = countingMailchimp()
    const store = new Map<string, string>()
    const stateContext: StateContext = {
      getRequestContext: (key: string) => store.get(key),
      setResponseContext: (key: string, value: string) => void store.set(key, value)
    }
    const host = new Destination(definition)
    const run = (events: SegmentEvent[]) =>
      host.executeBatch('syncCohort', { events, mapping, settings, auth, stateContext })

    await run(cohort(10, { tagId: null }))
    memoryCache.clear() // another worker: nothing in its memory
    await run(cohort(10, { from: 10, tagId: null }))

    expect(counts).toEqual({ metadata: 1, audience: 1, subscribe: 2, tag: 2, listTags: 2, createTag: 1 })
    expect([...store.keys()].join(' ')).not.toContain(TOKEN)
    nock.cleanAll()
  })
})

describe('bounded concurrency', () => {
  it.each([
    ['Mailchimp’s limit by default', undefined, MAILCHIMP_CONNECTIONS],
    ['the ceiling the embedding program sets', 6, 6]
  ])(
    'lets one large batch use the account’s whole share, up to %s, and no more',
    async (_, ceiling, limit) => {
      let inFlight = 0
      let most = 0
      const held: (() => void)[] = []
      let timer: NodeJS.Timeout | undefined
      const release = () => {
        timer = undefined
        held.splice(0).forEach((answer) => answer())
      }
      // Answers are held until the plugin has as many requests open as it may (then a moment more, so that a plugin
      // going past the limit shows it), or until no request has come for a while (the tail of the batch). A correct
      // plugin reaches exactly the limit however fast this machine is.
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        let text = ''
        req.on('data', (chunk: Buffer) => (text += chunk.toString()))
        req.on('end', () => {
          inFlight++
          most = Math.max(most, inFlight)
          held.push(() => {
            inFlight--
            res.setHeader('content-type', 'application/json')
            res.end(JSON.stringify(mailchimpAnswer(req.method ?? 'GET', req.url ?? '/', text)))
          })
          clearTimeout(timer)
          timer = setTimeout(release, inFlight >= limit ? 20 : 100)
        })
      })
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
      const { port } = server.address() as AddressInfo
      const base = `http://127.0.0.1:${port}`
      try {
        const host = new Destination(
          mailchimpCohorts({
            endpoints: { metadataUrl: `${base}/oauth2/metadata`, apiBaseUrl: `${base}/3.0` },
            maxRequestsInFlight: ceiling
          })
        )
        // 20 chunks of 500: the share starts at 8 and grows one request at a time as clear answers come back.
        const results = await host.executeBatch('syncCohort', {
          events: cohort(10_000),
          mapping: { ...mapping, batch_size: 10_000 },
          settings,
          auth
        })

        expect(results.filter((r) => r.status === 200)).toHaveLength(10_000)
        expect(most).toBe(limit)
      } finally {
        await new Promise((resolve) => server.close(resolve))
      }
    },
    30_000
  )
})

/** Just enough of Mailchimp for the concurrency test. */
function mailchimpAnswer(method: string, url: string, text: string): unknown {
  const path = new URL(url, 'http://x').pathname
  if (path === '/oauth2/metadata') return { dc: 'us6' }
  if (method === 'GET' && path === LIST) return { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false }
  if (method === 'POST' && path === LIST) {
    const rows = (JSON.parse(text) as Rows).members
    return subscribeAnswer({ created: rows.map((r) => ({ email: r.email_address, status: r.status })) })
  }
  const { members_to_add = [], members_to_remove = [] } = JSON.parse(text) as TagBody
  return tagAnswer({ added: members_to_add, removed: members_to_remove })
}
