import { Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import { mailchimpCohorts } from '../src'
import { startSandbox } from '../src/sandbox'
import { fingerprint } from '../src/destinations/mailchimp-cohort/mailchimp/cache'
import { accountCapacity } from '../src/destinations/mailchimp-cohort/mailchimp/limits'
import type { FaultSpec, MailchimpSandbox, MemberStatus } from '../src/sandbox'
import { engage, syncBatch } from './sandbox-host'
import type { Result } from './sandbox-host'

// The fault matrix: each row breaks Mailchimp in one way while the action syncs a batch into the stateful sandbox,
// then checks that nothing was lost. Every event has exactly one outcome; every 2xx is true in the sandbox; every
// failure has the expected status (429/5xx when a retry can help); no existing contact's status moved; and resending
// the failed events lands them.

const TOKEN = 'sandbox-token'
/**
 * The same account through another credential stands for a second worker process: the plugin keys its in-memory
 * cache and shared lookups by token, so two tokens share nothing, as two processes would.
 */
const SECOND_WORKER = 'second-worker-token'
const COHORT = 'Power users'
const STATUSES: MemberStatus[] = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional']
/**
 * The plugin's own request timeout for the sync that meets a stalled answer: well above a 500-contact request's time
 * here. Connecting and resending keep the normal timeout, so a slow machine cannot time out a request that is not
 * stalled.
 */
const STALL_TIMEOUT_MS = 4000

// Every row moves 1,800 events (and a resend) through the sandbox, some past a stall: on a busy 2-core machine that
// takes seconds, not jest's default five.
jest.setTimeout(60_000)

let sandbox: MailchimpSandbox
let audienceId: string

beforeEach(async () => {
  sandbox = await startSandbox({ tokens: [TOKEN, SECOND_WORKER] })
  audienceId = sandbox.addAudience({ name: 'Newsletter' })
})

afterEach(async () => {
  await sandbox.close()
})

const host = (requestTimeoutMs?: number) =>
  new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints, requestTimeoutMs }))
type Host = ReturnType<typeof host>

const email = (n: number) => `person${n}@mail.sample-shop.dev`
const settings = (token = TOKEN) => ({
  audience_id: audienceId,
  email_property: 'email',
  oauth: { access_token: token }
})
const subscribePath = () => `/3.0/lists/${audienceId}`
const tagPath = (tagId: string) => `/3.0/lists/${audienceId}/segments/${tagId}`

interface SyncOptions {
  token?: string
  audience?: string
  /** Map Cohort Name to nothing, so the events carry only the tag id. */
  idOnly?: boolean
}

const sync = (destination: Host, events: SegmentEvent[], options: SyncOptions = {}) =>
  syncBatch(destination, events, {
    audienceId: options.audience ?? audienceId,
    token: options.token ?? TOKEN,
    mapping: options.idOnly ? { cohort_name: { '@path': '$.properties.no_such_property' } } : {}
  })

async function connect(destination: Host, name = COHORT, token = TOKEN): Promise<string> {
  const input = { settings: settings(token), audienceName: name, audienceSettings: {} }
  return (await destination.createAudience(input)).externalId
}

/** One event of a batch: its contact, whether the contact should carry the tag, and its status if it existed before. */
interface Change {
  email: string
  inCohort: boolean
  seeded?: MemberStatus
}

interface Batch {
  changes: Change[]
  events: SegmentEvent[]
}

/**
 * The matrix's batch: 1,500 joiners (every sixth already a contact, of every status, without the tag) then 300
 * leavers (contacts of every status that carry it). That is three batch subscribes and three tag calls, the first tag
 * call also carrying every removal.
 */
function standardBatch(tag: { id?: string; name?: string }): Batch {
  const joiners: Change[] = Array.from({ length: 1500 }, (_, n) => ({
    email: email(n),
    inCohort: true,
    ...(n % 6 === 0 ? { seeded: STATUSES[(n / 6) % STATUSES.length] } : {})
  }))
  const leavers: Change[] = Array.from({ length: 300 }, (_, n) => ({
    email: email(10_000 + n),
    inCohort: false,
    seeded: STATUSES[n % STATUSES.length]
  }))
  const seeds = (changes: Change[], tags: string[]) =>
    changes.flatMap(({ email: address, seeded }) => (seeded ? [{ email_address: address, status: seeded, tags }] : []))
  sandbox.addContacts(audienceId, [...seeds(joiners, []), ...seeds(leavers, [tag.name ?? COHORT])])
  const changes = [...joiners, ...leavers]
  return {
    changes,
    events: changes.map((change) => engage(change.email, change.inCohort, tag.id, { cohortName: tag.name }))
  }
}

/** What a first sync reports for a change that Mailchimp carried out. */
const landed = (change: Change) => (!change.inCohort ? 'removed' : change.seeded ? 'added' : 'created_and_added')

/**
 * The problems with a batch's outcomes: a count that is not one per event, a 2xx the tag in the sandbox contradicts,
 * a contact whose status moved, a contact the sync created with another status than the audience default. Empty when
 * nothing was lost.
 */
function lostOrChanged(changes: Change[], results: Result[], tag: number | string): string[] {
  const carrying = new Set(sandbox.tagMembers(audienceId, tag).map((address) => address.toLowerCase()))
  const problems = results.length === changes.length ? [] : [`${results.length} outcomes for ${changes.length} events`]
  changes.forEach((change, i) => {
    const { status } = results[i] ?? {}
    if (status === 200 && carrying.has(change.email) !== change.inCohort) {
      problems.push(`${change.email}: ${results[i].body?.result}, but ${change.inCohort ? 'untagged' : 'tagged'}`)
    }
    const now = sandbox.contact(audienceId, change.email)?.status
    if (change.seeded && now !== change.seeded) problems.push(`${change.email}: was ${change.seeded}, now ${now}`)
    if (!change.seeded && now !== undefined && now !== 'subscribed') problems.push(`${change.email}: created ${now}`)
  })
  return problems
}

/** Events whose outcome differs from the wanted one, as "index email: got → wanted". */
function unexpected(results: Result[], changes: Change[], indices: number[], wanted: (change: Change) => string) {
  return indices.flatMap((i) => {
    const got = results[i].status === 200 ? `200 ${results[i].body?.result}` : `${results[i].status}`
    const want = `200 ${wanted(changes[i])}`
    return got === want ? [] : [`${i} ${changes[i].email}: ${got} → ${want}`]
  })
}

/** Passes on an empty list; a failure prints the first five entries and how many more there are. */
function expectNone(list: unknown[]): void {
  expect(list.length > 5 ? [...list.slice(0, 5), `… and ${list.length - 5} more`] : list).toEqual([])
}

const indicesWhere = (results: Result[], test: (result: Result, index: number) => boolean) =>
  results.flatMap((result, i) => (test(result, i) ? [i] : []))

const SUBSCRIBE = 'batch subscribe'
const TAG_CALL = 'tag call'
type Request = typeof SUBSCRIBE | typeof TAG_CALL

/**
 * The events each request of one kind carries, as the plugin cuts a batch at Mailchimp's 500 per request: the k-th
 * batch subscribe holds the k-th 500 joiners; the k-th tag call holds them and the k-th 500 leavers.
 */
function requestsOf(changes: Change[], on: Request): number[][] {
  const joiners = changes.flatMap((change, i) => (change.inCohort ? [i] : []))
  const leavers = changes.flatMap((change, i) => (change.inCohort ? [] : [i]))
  const count = Math.max(Math.ceil(joiners.length / 500), Math.ceil(leavers.length / 500))
  return Array.from({ length: count }, (_, k) => {
    const adds = joiners.slice(k * 500, (k + 1) * 500)
    return on === SUBSCRIBE ? adds : [...adds, ...leavers.slice(k * 500, (k + 1) * 500)].sort((a, b) => a - b)
  })
}

type Fault = Pick<FaultSpec, 'kind' | 'retryAfter' | 'applied'>

/** Mailchimp carried the request out; only its answer was lost (or never came). */
const applied = (kind: FaultSpec['kind']): Fault => ({ kind, applied: true })

// Each row: the fault one request of one chunk meets, and the outcome of every event that request carried.
// prettier-ignore
const MATRIX: Array<[fault: string, on: Request, status: number, spec: Fault, says: RegExp]> = [
  // fault                       request    out  sandbox fault                  outcome message
  ['429 with Retry-After: 30',   SUBSCRIBE, 429, { kind: 429, retryAfter: 30 }, /rate limiting.*try again in 30 s/],
  ['429 without Retry-After',    TAG_CALL,  429, { kind: 429 },                 /rate limiting.*try again later/],
  ['429 (applied)',              TAG_CALL,  429, applied(429),                  /rate limiting/],
  ['bodyless 403 (throttle)',    TAG_CALL,  429, { kind: 403 },                 /throttled/],
  ['500',                        TAG_CALL,  500, { kind: 500 },                 /unavailable \(500\)/],
  ['500 (applied)',              SUBSCRIBE, 500, applied(500),                  /unavailable \(500\)/],
  ['502 with an HTML body',      TAG_CALL,  502, { kind: 502 },                 /\(502\); try again later\.$/],
  ['503',                        SUBSCRIBE, 503, { kind: 503 },                 /unavailable \(503\)/],
  ['503 (applied)',              TAG_CALL,  503, applied(503),                  /unavailable \(503\)/],
  ['connection reset',           SUBSCRIBE, 503, { kind: 'reset' },             /Could not reach Mailchimp/],
  ['connection reset (applied)', TAG_CALL,  503, applied('reset'),              /Could not reach Mailchimp/],
  ['stalled answer (timeout)',   SUBSCRIBE, 504, { kind: 'stall' },             /did not answer in time/],
  ['stalled answer (applied)',   TAG_CALL,  504, applied('stall'),              /did not answer in time/],
  ['malformed JSON',             TAG_CALL,  502, { kind: 'malformed' },         /could not be read/],
  ['malformed JSON (applied)',   SUBSCRIBE, 502, applied('malformed'),          /could not be read/]
]

const every = (list: unknown[]) => list.map((_, i) => i)

describe('fault matrix: only the events of the failing request fail, retryably, and a resend lands them', () => {
  it.each(MATRIX)('%s on %s → %i for its events', async (_fault, on, status, spec, says) => {
    const destination = host()
    const tagId = await connect(destination)
    const { changes, events } = standardBatch({ id: tagId, name: COHORT })
    sandbox.inject({ ...spec, method: 'POST', path: on === SUBSCRIBE ? subscribePath() : tagPath(tagId) })

    const results = await sync(spec.kind === 'stall' ? host(STALL_TIMEOUT_MS) : destination, events)

    // Exactly the events of one request failed, each with the row's status and message.
    const failed = indicesWhere(results, (result) => result.status !== 200)
    expect(requestsOf(changes, on).filter((carried) => carried.join() === failed.join())).toHaveLength(1)
    const wrong = failed.filter((i) => results[i].status !== status || !says.test(results[i].errormessage ?? ''))
    expectNone(wrong)
    // The others: what Mailchimp did for them, and the sandbox agrees.
    const others = indicesWhere(results, (result) => result.status === 200)
    expectNone(unexpected(results, changes, others, landed))
    expectNone(lostOrChanged(changes, results, Number(tagId)))
    // The failed request changed nothing, unless Mailchimp carried it out before the answer was lost.
    const tagApplied = on === TAG_CALL && spec.applied === true
    const created = on === TAG_CALL || spec.applied === true
    const carrying = new Set(sandbox.tagMembers(audienceId, Number(tagId)))
    const astray = failed.filter((i) => {
      const { email: address, inCohort, seeded } = changes[i]
      const exists = sandbox.contact(audienceId, address) !== undefined
      return carrying.has(address) !== (tagApplied ? inCohort : !inCohort) || (!seeded && exists !== created)
    })
    expectNone(astray)

    // A resend lands every failed event and says truthfully what its own requests did.
    const resent = failed.map((i) => changes[i])
    const again = await sync(
      destination,
      failed.map((i) => events[i])
    )
    const wanted = (change: Change) => {
      if (!change.inCohort) return tagApplied ? 'not_tagged' : 'removed'
      if (tagApplied) return 'already_tagged'
      return change.seeded || created ? 'added' : 'created_and_added'
    }
    expectNone(unexpected(again, resent, every(resent), wanted))
    expectNone(lostOrChanged(resent, again, Number(tagId)))
  })
})

describe('a revoked token (401)', () => {
  it('revoked before the batch: every event 401 "Reconnect", nothing written; a new token lands them', async () => {
    const destination = host()
    const tagId = await connect(destination)
    const { changes, events } = standardBatch({ id: tagId, name: COHORT })
    const carriedBefore = sandbox.tagMembers(audienceId, Number(tagId)).sort()
    sandbox.revokeToken(TOKEN)
    sandbox.resetCounters()

    const results = await sync(destination, events)

    expectNone(indicesWhere(results, (r) => r.status !== 401 || !/Reconnect Mailchimp/.test(r.errormessage ?? '')))
    expectNone(Object.keys(sandbox.counters.byRoute).filter((route) => route.startsWith('POST')))
    expect(sandbox.tagMembers(audienceId, Number(tagId)).sort()).toEqual(carriedBefore)
    expectNone(lostOrChanged(changes, results, Number(tagId)))

    // Reconnecting gives the host a new token; the same events then land.
    const again = await sync(destination, events, { token: SECOND_WORKER })
    expectNone(unexpected(again, changes, every(changes), landed))
    expectNone(lostOrChanged(changes, again, Number(tagId)))
  })

  it('a 401 in the middle of a batch: settled events keep their outcome, the rest get 401 "Reconnect"', async () => {
    const destination = host()
    const churned = await connect(destination, 'Churned')
    const tagId = await connect(destination)
    // Leavers of one cohort, whose one request goes out with the first, then 1,500 joiners of another: three chunks,
    // each with an address that batch subscribe refuses, which settles it before any tag call is sent.
    const leavers = Array.from({ length: 300 }, (_, n) => ({
      email: email(10_000 + n),
      inCohort: false,
      seeded: STATUSES[n % STATUSES.length]
    }))
    sandbox.addContacts(
      audienceId,
      leavers.map((change) => ({ email_address: change.email, status: change.seeded, tags: ['Churned'] }))
    )
    const joiners: Change[] = Array.from({ length: 1500 }, (_, n) => ({
      email: n % 500 === 250 ? `fake${n}@example.com` : email(n),
      inCohort: true
    }))
    const events = [
      ...leavers.map((change) => engage(change.email, false, churned, { cohortName: 'Churned' })),
      ...joiners.map((change) => engage(change.email, true, tagId, { cohortName: COHORT }))
    ]
    // Mailchimp refuses the token on the first tag call of the joiners' cohort to arrive. Which other chunks had their
    // tag call out by then varies from run to run, so each chunk is checked to be whole: all landed, or all 401.
    sandbox.inject({ kind: 401, method: 'POST', path: tagPath(tagId) })

    const results = await sync(destination, events)

    const ofLeavers = results.slice(0, 300)
    const ofJoiners = results.slice(300)
    expectNone(unexpected(ofLeavers, leavers, every(leavers), landed))
    expectNone(lostOrChanged(leavers, ofLeavers, 'Churned'))
    const fakes = indicesWhere(ofJoiners, (_, i) => joiners[i].email.startsWith('fake'))
    expect(fakes.map((i) => [ofJoiners[i].status, /looks fake/.test(ofJoiners[i].errormessage ?? '')])).toEqual(
      Array(3).fill([400, true])
    )
    // Each chunk of joiners, fakes aside, either landed or was refused as a whole with "Reconnect".
    const chunks = [0, 1, 2].map((k) => {
      const outcomes = new Set(
        ofJoiners.slice(k * 500, (k + 1) * 500).flatMap((result, i) => {
          if (joiners[k * 500 + i].email.startsWith('fake')) return []
          if (result.status === 200) return [`200 ${result.body?.result}`]
          return [`${result.status} ${/Reconnect Mailchimp/.test(result.errormessage ?? '') ? 'Reconnect' : ''}`]
        })
      )
      return [...outcomes]
    })
    const whole = ['200 created_and_added', '401 Reconnect']
    expectNone(chunks.filter((outcomes) => outcomes.length !== 1 || !whole.includes(outcomes[0])))
    expect(chunks.flat()).toContain('401 Reconnect')
    expectNone(lostOrChanged(joiners, ofJoiners, Number(tagId)))

    // After reconnecting, the refused events land; their contacts were created before the 401, so they are added.
    const refused = indicesWhere(ofJoiners, (result) => result.status === 401)
    const again = await sync(
      destination,
      refused.map((i) => events[300 + i])
    )
    const resent = refused.map((i) => joiners[i])
    expectNone(unexpected(again, resent, every(resent), () => 'added'))
    expectNone(lostOrChanged(resent, again, Number(tagId)))
  })
})

describe('an audience that does not exist (404)', () => {
  it('answers every event 404 naming audience_id, not retryable, and changes nothing', async () => {
    const destination = host()
    const tagId = await connect(destination)
    const { events } = standardBatch({ id: tagId, name: COHORT })
    const byName = Array.from({ length: 200 }, (_, n) =>
      engage(email(20_000 + n), true, undefined, { cohortName: 'Other cohort' })
    )
    const before = { contacts: sandbox.contacts(audienceId), tags: sandbox.tags(audienceId) }

    const results = await sync(destination, [...events, ...byName], { audience: 'f00f00f00f' })

    expect(results).toHaveLength(2000)
    const wrong = indicesWhere(
      results,
      (r) => r.status !== 404 || !/no audience "f00f00f00f".*audience_id/.test(r.errormessage ?? '')
    )
    expectNone(wrong)
    expect({ contacts: sandbox.contacts(audienceId), tags: sandbox.tags(audienceId) }).toEqual(before)
  })
})

describe('a tag deleted in Mailchimp (404)', () => {
  it('finds the tag again by cohort name, re-creating it once for the whole batch, and lands every event on it', async () => {
    const destination = host()
    const staleId = await connect(destination)
    const { changes, events } = standardBatch({ id: staleId, name: COHORT })
    sandbox.deleteTag(audienceId, Number(staleId))
    sandbox.resetCounters()

    const results = await sync(destination, events)

    const [tag, ...more] = sandbox.tags(audienceId)
    expect({ name: tag.name, more: more.length, stale: String(tag.id) === staleId }).toEqual({
      name: COHORT,
      more: 0,
      stale: false
    })
    expect(sandbox.counters.byRoute['POST /3.0/lists/{list_id}/segments']).toBe(1)
    // The leavers lost the tag with it: nothing to remove.
    const wanted = (change: Change) => (change.inCohort ? landed(change) : 'not_tagged')
    expectNone(unexpected(results, changes, every(changes), wanted))
    expect(results.every((result) => result.body?.tag_id === String(tag.id))).toBe(true)
    expectNone(lostOrChanged(changes, results, tag.id))
  })

  it('does not re-create a deleted tag for a batch of removals: nobody carries it', async () => {
    const destination = host()
    const staleId = await connect(destination)
    const { changes, events } = standardBatch({ id: staleId, name: COHORT })
    sandbox.deleteTag(audienceId, Number(staleId))

    const results = await sync(destination, events.slice(1500))

    expectNone(unexpected(results, changes.slice(1500), every(changes.slice(1500)), () => 'not_tagged'))
    expect(sandbox.tags(audienceId)).toEqual([])
  })

  it('answers 404 naming the tag id, not retryable, when the events carry only the id', async () => {
    const destination = host()
    const staleId = await connect(destination)
    const { changes, events } = standardBatch({ id: staleId })
    sandbox.deleteTag(audienceId, Number(staleId))

    const results = await sync(destination, events, { idOnly: true })

    const message = new RegExp(`tag ${staleId} no longer exists in audience "${audienceId}".*Map Cohort Name`)
    expectNone(indicesWhere(results, (r) => r.status !== 404 || !message.test(r.errormessage ?? '')))
    expect(sandbox.tags(audienceId)).toEqual([])
    expectNone(lostOrChanged(changes, results, COHORT))
  })
})

describe('two workers at once', () => {
  // Latency makes the race likely: both workers look for the tag, and find none, before either creates it. In one
  // process the lookup is shared, so the tag is created once. In two, each worker creates it unless the other's tag was
  // already there when it looked, which a slow machine can bring about; so one create or two, but always one tag.
  const LATENCY_MS = 50
  const WORKERS = [
    { where: 'in one process', token: TOKEN, creates: [1] },
    { where: 'in two processes', token: SECOND_WORKER, creates: [1, 2] }
  ]

  it.each(WORKERS)(
    'two createAudience calls for one name $where get the same tag id, and Mailchimp holds one tag',
    async ({ token, creates }) => {
      sandbox.setLatency(LATENCY_MS)
      const [first, second] = await Promise.all([connect(host(), COHORT), connect(host(), COHORT.toUpperCase(), token)])
      expect(second).toBe(first)
      // Either worker may have won, so the tag's name is either spelling.
      const tags = sandbox.tags(audienceId).map(({ id, name }) => [String(id), name.toLowerCase()])
      expect(tags).toEqual([[first, COHORT.toLowerCase()]])
      // When both did try, Mailchimp refused the second name and its worker took the first tag.
      expect(creates).toContain(sandbox.counters.byRoute['POST /3.0/lists/{list_id}/segments'])
    }
  )

  it.each(WORKERS)(
    'two batches that know only the cohort name, $where, make one tag and tag every contact',
    async ({ token, creates }) => {
      sandbox.setLatency(LATENCY_MS)
      const batch = (from: number) =>
        Array.from({ length: 300 }, (_, n) => engage(email(from + n), true, undefined, { cohortName: COHORT }))
      const [a, b] = await Promise.all([sync(host(), batch(0)), sync(host(), batch(300), { token })])
      expectNone([...a, ...b].filter((result) => result.status !== 200))
      const [tag, ...more] = sandbox.tags(audienceId)
      expect({ name: tag.name, more: more.length, members: tag.member_count }).toEqual({
        name: COHORT,
        more: 0,
        members: 600
      })
      expect([...a, ...b].every((result) => result.body?.tag_id === String(tag.id))).toBe(true)
      expect(creates).toContain(sandbox.counters.byRoute['POST /3.0/lists/{list_id}/segments'])
    }
  )

  it('keeps two batches at once under Mailchimp’s 10 connections', async () => {
    sandbox.setLatency(100)
    const destination = host()
    const tagId = await connect(destination)
    const batch = (from: number) => Array.from({ length: 2000 }, (_, n) => engage(email(from + n), true, tagId))
    const [a, b] = await Promise.all([sync(destination, batch(0)), sync(destination, batch(2000))])
    expectNone([...a, ...b].filter((result) => result.status !== 200))
    expect(sandbox.counters.throttled).toBe(0)
    expect(sandbox.counters.peakInFlight).toBeGreaterThan(4)
    expect(sandbox.counters.peakInFlight).toBeLessThanOrEqual(10)
  })

  it('holds fewer connections once Mailchimp throttles it, and the throttled events land when resent', async () => {
    // As if the account's other integrations held 4 of its 10 connections: 6 get through, the plugin starts at 8.
    await sandbox.close()
    sandbox = await startSandbox({ tokens: [TOKEN], maxConnections: 6, latencyMs: 100 })
    audienceId = sandbox.addAudience({ name: 'Newsletter' })
    const destination = host()
    const tagId = await connect(destination)
    const events = Array.from({ length: 10_000 }, (_, n) => engage(email(n), true, tagId))
    const batches = [0, 1, 2, 3].map((i) => sync(destination, events.slice(i * 2500, (i + 1) * 2500)))
    const results = (await Promise.all(batches)).flat()
    expectNone(results.filter((result) => result.status !== 200 && result.status !== 429))
    // 40 requests against 6 free connections: without learning, about a quarter of them would be throttled. The share
    // starts at 8 and may grow towards the ceiling of 10 while answers come back unthrottled (on a busy machine the
    // four batches ramp up slowly, so it does), but each throttle it learns from takes one connection off it: no more
    // than the ceiling's 4 beyond the 6 free are ever throttled.
    expect(sandbox.counters.throttled).toBeGreaterThan(0)
    expect(sandbox.counters.throttled).toBeLessThanOrEqual(4)
    // The share settled at what gets through, or fewer, and stays there: nothing more was throttled.
    expect(accountCapacity(fingerprint(sandbox.endpoints.metadataUrl, TOKEN))).toBeLessThanOrEqual(6)

    const again = await sync(
      destination,
      events.filter((_, i) => results[i].status === 429)
    )
    expectNone(again.filter((result) => result.status !== 200))
    expect(sandbox.tagMembers(audienceId, Number(tagId))).toHaveLength(10_000)
  })
})

describe('addresses Mailchimp answers for one by one', () => {
  // Fifteen such addresses, five in each 500-contact request, among contacts Mailchimp takes.
  const ADDRESSES: Array<{ address: string; prepare: (address: string) => Change; status: number; says: RegExp }> = [
    {
      address: 'at a domain Mailchimp calls fake',
      prepare: (address) => ({ email: address.replace(/@.*/, '@example.com'), inCohort: true }),
      status: 400,
      says: /Mailchimp refused this contact: .* looks fake or invalid/
    },
    {
      address: 'permanently deleted from the audience',
      prepare: (address) => {
        sandbox.forget(audienceId, address)
        return { email: address, inCohort: true }
      },
      status: 400,
      says: /permanently deleted .*cannot be re-imported/
    },
    // Mailchimp will not subscribe these again, but they are contacts: they take the tag and keep their status.
    ...(['unsubscribed', 'cleaned'] as const).map((status) => ({
      address: `of a contact ${status} (a compliance state)`,
      prepare: (address: string) => {
        sandbox.addContacts(audienceId, [{ email_address: address, status }])
        return { email: address, inCohort: true, seeded: status }
      },
      status: 200,
      says: /^added$/
    }))
  ]

  it.each(ADDRESSES)('an address $address → $status for its event alone', async ({ prepare, status, says }) => {
    const destination = host()
    const tagId = await connect(destination)
    const changes = Array.from({ length: 1500 }, (_, n) =>
      n % 100 === 7 ? prepare(email(n)) : { email: email(n), inCohort: true }
    )

    const results = await sync(
      destination,
      changes.map((change) => engage(change.email, true, tagId))
    )

    const special = every(changes).filter((i) => i % 100 === 7)
    const others = every(changes).filter((i) => i % 100 !== 7)
    const saying = (result: Result) => (result.status === 200 ? result.body?.result : result.errormessage) ?? ''
    expectNone(special.filter((i) => results[i].status !== status || !says.test(saying(results[i]))))
    expectNone(unexpected(results, changes, others, landed))
    expectNone(lostOrChanged(changes, results, Number(tagId)))
    const carrying = new Set(sandbox.tagMembers(audienceId, Number(tagId)))
    expectNone(special.filter((i) => results[i].status !== 200 && carrying.has(changes[i].email)))
  })
})
