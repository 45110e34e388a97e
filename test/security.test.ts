import { createServer } from 'node:net'
import type { Socket } from 'node:net'
import { inspect } from 'node:util'
import nock from 'nock'
import { Destination, PayloadValidationError } from '@segment/actions-core'
import type { JSONObject, Logger, SegmentEvent } from '@segment/actions-core'
import definition, { mailchimpCohorts } from '../src'
import { startSandbox } from '../src/sandbox'
import type { FaultSpec, MailchimpSandbox } from '../src/sandbox'
import { AUDIENCE_ID, LOGIN, api, expectNotRequested, metadata, rejectionOf, settings as nockSettings } from './helpers'
import { syncBatch } from './sandbox-host'
import type { Result, SyncOptions } from './sandbox-host'

// The contract's Security section, tried from outside: through actions-core's Destination as a host drives it, against
// the sandbox on loopback or nock standing in for Mailchimp's real hosts. client.test.ts and validation.test.ts cover
// the client and the validators one call at a time; this file covers every entry point and hostile input end to end.

type Host = Destination<JSONObject>

/** Distinctive enough that any 12-character piece of it showing up anywhere is a leak, not a coincidence. */
const TOKEN = 'mcOAuth-Zq8Xv3Lr7Tn2Wk5Hy9Pb4Jd6Ms1'
const SHORT_MESSAGE = 500

const host = (options: Parameters<typeof mailchimpCohorts>[0] = {}): Host =>
  new Destination(mailchimpCohorts(options) as never)
const realHosts = (): Host => new Destination(definition as never)

interface EventSpec {
  tagId?: string
  cohort?: string
  inCohort?: boolean
  traits?: Record<string, unknown>
}

/** An identify event carrying its own membership, as a host sends it. */
function event(email: unknown, { tagId, cohort, inCohort = true, traits = { email } }: EventSpec = {}): SegmentEvent {
  return {
    type: 'identify',
    traits,
    properties: { in_cohort: inCohort, ...(cohort !== undefined ? { cohort_name: cohort } : {}) },
    context: tagId !== undefined ? { personas: { external_audience_id: tagId } } : {}
  } as SegmentEvent
}

/** One batch as a host sends it, with this file's token unless a test names another. */
const sync = (destination: Host, events: SegmentEvent[], options: Omit<SyncOptions, 'token'> & { token?: string }) =>
  syncBatch(destination, events, { ...options, token: options.token ?? TOKEN })

/** Every request that left through the HTTP stack without a nock answer: to the sandbox, or an attempt to go elsewhere. */
function recordRequests(): { urls: URL[]; stop: () => void } {
  const urls: URL[] = []
  const onRequest = (request: { href?: string }) => void urls.push(new URL(request.href ?? 'unknown:'))
  nock.emitter.on('no match', onRequest)
  return { urls, stop: () => void nock.emitter.removeListener('no match', onRequest) }
}

/** Records the requests of each test of the enclosing describe; the function gives the running test's. */
function recordEachTest(): () => { urls: URL[] } {
  let requests: ReturnType<typeof recordRequests>
  beforeEach(() => {
    requests = recordRequests()
  })
  afterEach(() => requests.stop())
  return () => requests
}

/** No test of the enclosing describe may make any request: with no answers recorded, any would show up here. */
function expectNoRequestInEachTest(): void {
  const requests = recordEachTest()
  afterEach(() => expect(requests().urls.map(String)).toEqual([]))
}

// ---------------------------------------------------------------------------------------------------------------------
// Token hygiene

/** 12-character windows of a text: a truncated or partial copy of the token is still a leak. */
function windows(text: string, size = 12): string[] {
  return Array.from({ length: text.length - size + 1 }, (_, i) => text.slice(i, i + size))
}

/** The token, and its base64 and base64url forms at each alignment (Basic auth encodes `user:token`). */
const TOKEN_PIECES = [
  ...windows(TOKEN),
  ...[0, 1, 2].flatMap((pad) => {
    const base64 = Buffer.from('u'.repeat(pad) + TOKEN)
      .toString('base64')
      .slice(pad === 0 ? 0 : 4, -4)
    return windows(base64).flatMap((piece) => [piece, piece.replace(/\+/g, '-').replace(/\//g, '_')])
  })
]

const leaksIn = (text: string) => [...new Set(TOKEN_PIECES.filter((piece) => text.includes(piece)))]

/**
 * All a value holds, as text: its JSON, and a walk of every own property, enumerable or not (an error's message,
 * stack and cause, nested `request`/`response` objects, Headers and Map entries).
 */
function everything(value: unknown): string {
  const seen = new Set<unknown>()
  const out: string[] = []
  const walk = (current: unknown, depth: number): void => {
    if (typeof current === 'string') return void out.push(current)
    if (current === null || (typeof current !== 'object' && typeof current !== 'function')) {
      return void out.push(String(current))
    }
    if (seen.has(current) || depth > 12) return
    seen.add(current)
    if (current instanceof Map || current instanceof Headers) {
      for (const entry of (current as Map<unknown, unknown>).entries()) walk(entry, depth + 1)
    }
    for (const key of Reflect.ownKeys(current)) {
      out.push(String(key))
      try {
        walk((current as Record<PropertyKey, unknown>)[key], depth + 1)
      } catch {
        // A throwing getter shows nothing to a host either.
      }
    }
  }
  walk(value, 0)
  let json = ''
  try {
    json = JSON.stringify(value) ?? ''
  } catch {
    // Circular: the walk above still saw every property.
  }
  return `${json}\n${out.join('\n')}`
}

/** What a promise settled with, kept for inspection either way. */
const settle = (promise: Promise<unknown>) =>
  promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error })
  )

/** A host's logger, the console and both output streams, recorded while a scenario runs. */
function captureOutput(): { lines: string[]; logger: Logger; restore: () => void } {
  const lines: string[] = []
  const record = (...parts: unknown[]) =>
    void lines.push(parts.map((part) => (typeof part === 'string' ? part : inspect(part, { depth: 12 }))).join(' '))
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug', 'trace'] as const).map((method) =>
    jest.spyOn(console, method).mockImplementation(record)
  )
  const streamSpies = [process.stdout, process.stderr].map((stream) => {
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean
    // Passed on, so that jest's own reporting still reaches the terminal.
    return jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      lines.push(String(chunk))
      return write(chunk, ...rest)
    }) as never)
  })
  const logger: Logger = {
    level: 'debug',
    name: 'security-test',
    debug: record,
    info: record,
    warn: record,
    error: record,
    crit: record,
    log: record,
    withTags: record
  }
  return { lines, logger, restore: () => [...consoleSpies, ...streamSpies].forEach((spy) => spy.mockRestore()) }
}

describe('token hygiene: the token is in no log line, console output, error or outcome', () => {
  let sandbox: MailchimpSandbox
  let audienceId: string
  const hostSettings = (extra: JSONObject = {}): JSONObject => ({
    audience_id: audienceId,
    email_property: 'email',
    oauth: { access_token: TOKEN },
    ...extra
  })
  const tagPath = (tagId: string) => `/3.0/lists/${audienceId}/segments/${tagId}`
  const statuses = (results: Result[]) => results.map((result) => result.status)

  async function connect(destination: Host): Promise<string> {
    await destination.testAuthentication(hostSettings())
    const { externalId } = await destination.createAudience({
      settings: hostSettings(),
      audienceName: 'Power users',
      audienceSettings: {}
    })
    return externalId
  }

  /**
   * Connects, then syncs two contacts while `fault` hits the tag call; every event must get `status`. A short
   * `requestTimeoutMs` applies to the sync alone: connecting with it could time out on a slow machine.
   */
  const faulted =
    (kind: FaultSpec['kind'], status: number, requestTimeoutMs?: number) =>
    async (logger: Logger): Promise<unknown> => {
      const tagId = await connect(host({ endpoints: sandbox.endpoints }))
      sandbox.inject({ kind, method: 'POST', path: tagPath(tagId), holdMs: kind === 'stall' ? 1_000 : undefined })
      const events = [event('ada@mail.sample-shop.dev', { tagId }), event('bob@mail.sample-shop.dev', { tagId })]
      const destination = host({ endpoints: sandbox.endpoints, requestTimeoutMs })
      const results = await sync(destination, events, { audienceId, logger })
      expect(statuses(results)).toEqual([status, status])
      return results
    }

  const scenarios: [string, (logger: Logger) => Promise<unknown>][] = [
    [
      'testAuthentication, createAudience and getAudience that succeed',
      async () => {
        const destination = host({ endpoints: sandbox.endpoints })
        const tagId = await connect(destination)
        const found = await destination.getAudience({
          settings: hostSettings(),
          externalId: tagId,
          audienceSettings: {}
        })
        expect(found).toEqual({ externalId: tagId })
        return [tagId, found]
      }
    ],
    [
      'testAuthentication with a revoked token and with an unknown audience',
      async () => {
        const destination = host({ endpoints: sandbox.endpoints })
        const unknown = await settle(destination.testAuthentication(hostSettings({ audience_id: 'ffffffffff' })))
        sandbox.revokeToken(TOKEN)
        const revoked = await settle(destination.testAuthentication(hostSettings()))
        expect(String((unknown as { error: Error }).error.message)).toMatch(/ffffffffff/)
        expect(String((revoked as { error: Error }).error.message)).toMatch(/Reconnect Mailchimp/)
        return [unknown, revoked]
      }
    ],
    [
      'createAudience refused for a long name and failing on a 503, getAudience for a missing tag',
      async () => {
        const destination = host({ endpoints: sandbox.endpoints })
        const audience = (audienceName: string) =>
          settle(destination.createAudience({ settings: hostSettings(), audienceName, audienceSettings: {} }))
        const long = await audience('x'.repeat(88))
        sandbox.inject({ kind: 503, method: 'GET', path: `/3.0/lists/${audienceId}/segments` })
        const unavailable = await audience('Power users')
        const missing = await settle(
          destination.getAudience({ settings: hostSettings(), externalId: '424242', audienceSettings: {} })
        )
        expect((long as { error: Error }).error.message).toMatch(/88/)
        expect((unavailable as { error: { status: number } }).error.status).toBe(503)
        expect((missing as { error: { status: number } }).error.status).toBe(404)
        return [long, unavailable, missing]
      }
    ],
    [
      'a batch of successes and per-email refusals',
      async (logger) => {
        sandbox.forget(audienceId, 'gone@mail.sample-shop.dev')
        const destination = host({ endpoints: sandbox.endpoints })
        const tagId = await connect(destination)
        const events = [
          event('new@mail.sample-shop.dev', { tagId }),
          event('fake@example.com', { tagId }),
          event('gone@mail.sample-shop.dev', { tagId }),
          event('not an email', { tagId }),
          event(undefined, { tagId }),
          event('leaver@mail.sample-shop.dev', { tagId, inCohort: false })
        ]
        const results = await sync(destination, events, { audienceId, logger })
        expect(statuses(results)).toEqual([200, 400, 400, 400, 400, 200])
        return results
      }
    ],
    ['a batch whose token was revoked (401)', faulted(401, 401)],
    [
      'a batch for an audience Mailchimp does not have (404)',
      async (logger) => {
        const destination = host({ endpoints: sandbox.endpoints })
        const events = [event('ada@mail.sample-shop.dev', { cohort: 'Power users' })]
        const results = await sync(destination, events, { audienceId: 'ffffffffff', logger })
        expect(statuses(results)).toEqual([404])
        return results
      }
    ],
    ['a batch throttled with 429', faulted(429, 429)],
    ['a batch meeting a bodyless 403', faulted(403, 429)],
    ['a batch meeting a 500', faulted(500, 500)],
    ['a batch meeting a 502 with an HTML body', faulted(502, 502)],
    ['a batch meeting a 503', faulted(503, 503)],
    ['a batch whose connection is reset', faulted('reset', 503)],
    ['a batch whose answer is malformed', faulted('malformed', 502)],
    ['a batch whose answer stalls until the timeout', faulted('stall', 504, 250)],
    [
      'deletion requests that delete, find nothing, and meet a revoked token',
      async (logger) => {
        sandbox.addContacts(audienceId, [{ email_address: 'ada@mail.sample-shop.dev', status: 'subscribed' }])
        const destination = host({ endpoints: sandbox.endpoints })
        const on = hostSettings({ delete_contacts_on_request: true })
        const request = { type: 'delete', userId: 'ada@mail.sample-shop.dev' } as SegmentEvent
        const deleted = await destination.onDelete!(request, on, { logger })
        const nothing = await destination.onDelete!(request, on, { logger })
        sandbox.revokeToken(TOKEN)
        const revoked = await settle(destination.onDelete!(request, on, { logger }))
        expect(deleted).toEqual({ output: `Contact permanently deleted from audience ${audienceId}.` })
        expect(nothing).toEqual({
          output: `No contact with this address in audience ${audienceId}: nothing to delete.`
        })
        expect((revoked as { error: Error }).error.message).toMatch(/Reconnect Mailchimp/)
        return [deleted, nothing, revoked]
      }
    ],
    [
      'a token refresh, which Mailchimp does not offer',
      async () => {
        const destination = host({ endpoints: sandbox.endpoints })
        const credentials = { accessToken: TOKEN, refreshToken: TOKEN, clientId: 'client', clientSecret: 'secret' }
        const refused = await settle(destination.refreshAccessToken(hostSettings(), credentials))
        expect((refused as { error: Error }).error.message).toMatch(/Reconnect Mailchimp/)
        return refused
      }
    ]
  ]

  beforeEach(async () => {
    sandbox = await startSandbox({ tokens: [TOKEN] })
    audienceId = sandbox.addAudience({ name: 'Newsletter' })
  })

  afterEach(() => sandbox.close())

  it.each(scenarios)('%s', async (_name, drive) => {
    const output = captureOutput()
    let artefacts: unknown
    try {
      artefacts = await drive(output.logger)
    } finally {
      output.restore()
    }
    expect(leaksIn(everything(artefacts))).toEqual([])
    expect(leaksIn(output.lines.join('\n'))).toEqual([])
  })

  it('would notice the token, its base64 or a piece of it', () => {
    // The detector itself, so that the scenarios above cannot pass by looking for the wrong thing.
    expect(leaksIn(`Bearer ${TOKEN}`)).not.toEqual([])
    expect(leaksIn(Buffer.from(`anystring:${TOKEN}`).toString('base64'))).not.toEqual([])
    expect(leaksIn(Buffer.from(`user:${TOKEN}`).toString('base64url'))).not.toEqual([])
    expect(leaksIn(`token ${TOKEN.slice(5, 20)}…`)).not.toEqual([])
    expect(everything(Object.assign(new Error('x'), { response: { headers: new Headers({ a: TOKEN }) } }))).toContain(
      TOKEN
    )
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// SSRF: the API host comes only from a checked data center

/** A loopback TCP server that must see no connection: where a crafted data center would send the token. */
async function witness(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  let connections = 0
  const sockets = new Set<Socket>()
  const server = createServer((socket) => {
    connections++
    sockets.add(socket)
    socket.destroy()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  return {
    port,
    connections: () => connections,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

describe('SSRF: API calls go only to <dc>.api.mailchimp.com, with <dc> checked', () => {
  let trap: Awaited<ReturnType<typeof witness>>

  beforeAll(async () => {
    trap = await witness()
  })

  afterAll(() => trap.close())

  const BAD_DATA_CENTERS: [string, unknown][] = [
    ['a host with a slash', 'evil.com/'],
    ['a subdomain of another host', 'us6.evil.com'],
    ['an IP address', '127.0.0.1'],
    ['loopback with a port and path', '127.0.0.1:{port}/'],
    ['localhost with a port and fragment', 'localhost:{port}#'],
    ['userinfo', 'us6@evil'],
    ['a parent path', '../'],
    ['a path climbing out', 'us6/../../x'],
    ['a query', 'us6?'],
    ['an encoded dot', 'us6%2eevil.com'],
    ['a CRLF header injection', 'us6\r\nHost: evil.example.com'],
    ['a trailing newline', 'us6\n'],
    ['full-width letters', 'ｕｓ６'],
    ['upper case', 'US6'],
    ['a megabyte of letters', 'x'.repeat(1_000_000)],
    ['a megabyte of letters then a digit, longer than any DNS label', 'a'.repeat(1_000_000) + '1'],
    ['a number', 6],
    ['null', null],
    ['an array', ['us6']]
  ]

  it.each(BAD_DATA_CENTERS)('refuses %s before any API request', async (_name, given) => {
    const dc = typeof given === 'string' ? given.replace('{port}', String(trap.port)) : given
    nock(LOGIN)
      .get('/oauth2/metadata')
      .times(2)
      .reply(200, { dc, api_endpoint: `https://${String(dc)}` })
    const requests = recordRequests()
    const destination = realHosts()
    try {
      const authError = await rejectionOf(destination.testAuthentication(nockSettings as never))
      const [outcome] = await sync(destination, [event('ada@mail.sample-shop.dev', { tagId: '4242' })], {
        audienceId: AUDIENCE_ID,
        token: nockSettings.oauth.access_token
      })

      expect(trap.connections()).toBe(0)
      expect(requests.urls.map(String)).toEqual([])
      expect(authError.message).toMatch(/unexpected data center|could not be read/)
      expect(outcome.status).toBe(502)
      expect(outcome.errormessage).toMatch(/unexpected data center|could not be read/)
      expect(outcome.errormessage!.length).toBeLessThan(SHORT_MESSAGE)
    } finally {
      requests.stop()
    }
  })

  it('refuses a redirect from the metadata endpoint, so the token never reaches its target', async () => {
    nock(LOGIN).get('/oauth2/metadata').reply(302, '', { location: 'https://evil.example.com/oauth2/metadata' })
    const evil = nock('https://evil.example.com').get(/.*/).reply(200, { dc: 'us6' })
    const error = await rejectionOf(realHosts().testAuthentication(nockSettings as never))
    expect(error.message).toMatch(/redirect \(302\); it was not followed/)
    expectNotRequested(evil)
  })

  // client.test.ts refuses a 302 on a GET; a 307 or 308 would also re-send the body with the token.
  it.each([301, 303, 307, 308])('refuses a %i on the tag call and fails its events without retry', async (status) => {
    metadata()
    api()
      .post(`/3.0/lists/${AUDIENCE_ID}/segments/4242`)
      .reply(status, '', { location: 'https://evil.example.com/steal' })
    // Followed, a 301 or 303 turns into a GET and a 307 or 308 re-sends the POST.
    const evil = [
      nock('https://evil.example.com').post(/.*/).reply(200, {}),
      nock('https://evil.example.com').get(/.*/).reply(200, {})
    ]
    const destination = realHosts()
    const results = await sync(
      destination,
      [event('ada@mail.sample-shop.dev', { tagId: '4242' }), event('bob@mail.sample-shop.dev', { tagId: '4242' })],
      {
        audienceId: AUDIENCE_ID,
        token: nockSettings.oauth.access_token,
        mapping: { status_if_new: 'skip' }
      }
    )
    expect(results.map((result) => result.status)).toEqual([502, 502])
    expect(results[0].errormessage).toMatch(new RegExp(`redirect \\(${status}\\); it was not followed`))
    expectNotRequested(...evil)
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Path injection

describe('path injection: audience and tag ids are refused before they reach a URL', () => {
  expectNoRequestInEachTest()

  const BAD_AUDIENCE_IDS = [
    '../',
    '..%2F..',
    '%2e%2e',
    'abc/../../x',
    '57afe96172?x=1',
    '57afe96172#x',
    '57afe96172%2Fsegments',
    '57afe96172\\..',
    '57afe96172\r\nX-Injected: 1',
    '57afe96172\nHost: evil.example.com',
    'ａｂｃ１２３',
    '57afe\u202e96172',
    '57afe96172\u0000',
    '57afe 96172'
  ]

  it.each(BAD_AUDIENCE_IDS)('refuses audience_id %j at every entry point with a 400 naming audience_id', async (id) => {
    const destination = realHosts()
    const withId = { ...nockSettings, audience_id: id, delete_contacts_on_request: true }
    const names = /audience_id/

    const auth = await rejectionOf(destination.testAuthentication(withId as never))
    const created = await rejectionOf<PayloadValidationError>(
      destination.createAudience({ settings: withId, audienceName: 'Power users', audienceSettings: {} })
    )
    const got = await rejectionOf<PayloadValidationError>(
      destination.getAudience({ settings: withId, externalId: '4242', audienceSettings: {} })
    )
    const deleted = await rejectionOf<PayloadValidationError>(
      destination.onDelete!({ type: 'delete', userId: 'ada@mail.sample-shop.dev' } as SegmentEvent, withId)
    )
    const results = await sync(
      destination,
      [event('ada@mail.sample-shop.dev', { tagId: '4242' }), event('bob@mail.sample-shop.dev', { cohort: 'Power' })],
      { audienceId: id }
    )

    expect(auth.message).toMatch(names)
    for (const error of [created, got, deleted]) {
      expect(error).toBeInstanceOf(PayloadValidationError)
      expect(error.status).toBe(400)
      expect(error.message).toMatch(names)
    }
    expect(results.map((result) => result.status)).toEqual([400, 400])
    for (const result of results) expect(result.errormessage).toMatch(names)
  })

  const BAD_TAG_IDS = [
    '../',
    '%2e%2e',
    '12/../../x',
    '12?x=1',
    '12#',
    '12%2F13',
    '１２',
    '12\r\nX-Injected: 1',
    '-1',
    '0x10',
    '1e3',
    '12 13'
  ]

  it.each(BAD_TAG_IDS)('refuses tag id %j from events and from getAudience with a 400', async (tagId) => {
    const destination = realHosts()
    const results = await sync(destination, [event('ada@mail.sample-shop.dev', { tagId, cohort: 'Power users' })], {
      audienceId: AUDIENCE_ID
    })
    const got = await rejectionOf<PayloadValidationError>(
      destination.getAudience({ settings: nockSettings, externalId: tagId, audienceSettings: {} })
    )

    expect(results[0].status).toBe(400)
    // The field's label is "Mailchimp Tag ID"; the message also says how to get a good one.
    expect(results[0].errormessage).toMatch(/tag id is a number.*Recreate the audience/i)
    expect(got).toBeInstanceOf(PayloadValidationError)
    expect(got.message).toMatch(/tag id is a number/i)
  })
})

describe('path injection: cohort names travel in JSON bodies, never in a URL', () => {
  let sandbox: MailchimpSandbox

  beforeEach(async () => {
    sandbox = await startSandbox({ tokens: [TOKEN] })
  })

  afterEach(() => sandbox.close())

  const NAMES = [
    '../../lists',
    '?count=1&offset=0',
    '#fragment',
    '%2e%2e%2F',
    'a/b',
    'line\r\nX-Injected: 1',
    '名前 🙂'
  ]

  it.each(NAMES)('creates and syncs the tag named %j with only the usual paths requested', async (name) => {
    const audienceId = sandbox.addAudience({ name: 'Newsletter' })
    const destination = host({ endpoints: sandbox.endpoints })
    const requests = recordRequests()
    try {
      const { externalId } = await destination.createAudience({
        settings: { audience_id: audienceId, email_property: 'email', oauth: { access_token: TOKEN } },
        audienceName: name,
        audienceSettings: {}
      })
      const [result] = await sync(destination, [event('ada@mail.sample-shop.dev', { cohort: name })], { audienceId })

      expect(result.status).toBe(200)
      expect(sandbox.tags(audienceId)).toEqual([{ id: Number(externalId), name, member_count: 1 }])
      const usual = new RegExp(`^/oauth2/metadata$|^/3\\.0/lists/${audienceId}(/segments(/${externalId})?)?$`)
      expect(requests.urls.length).toBeGreaterThan(0)
      for (const url of requests.urls) {
        expect(url.pathname).toMatch(usual)
        expect(decodeURIComponent(url.search)).not.toContain(name.trim())
        expect(url.hash).toBe('')
      }
    } finally {
      requests.stop()
    }
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Huge inputs

describe('huge inputs are refused quickly with short messages that say what to fix', () => {
  /** "Quickly": loose enough for a slow machine, far below the 60 s hang that a megabyte audience id once caused. */
  const QUICK_MS = 15_000
  /** The tests that time themselves outlast jest's 5 s default, so that the time check, not jest, says what went wrong. */
  const TIMED_TEST_MS = 2 * QUICK_MS

  it(
    'refuses a megabyte cohort name and oversized emails, ignores a 10 MB unused property, and syncs the rest',
    async () => {
      const sandbox = await startSandbox({ tokens: [TOKEN] })
      try {
        const audienceId = sandbox.addAudience({ name: 'Newsletter' })
        const destination = host({ endpoints: sandbox.endpoints })
        const { externalId: tagId } = await destination.createAudience({
          settings: { audience_id: audienceId, email_property: 'email', oauth: { access_token: TOKEN } },
          audienceName: 'Power users',
          audienceSettings: {}
        })
        const good = (n: number) => `person${n}@mail.sample-shop.dev`
        const events = [
          event(good(0), { tagId }),
          event(good(1), { cohort: 'c'.repeat(1_000_000) }),
          event(`${'e'.repeat(100_000)}@mail.sample-shop.dev`, { tagId }),
          event('m'.repeat(10_000_000), { tagId }),
          event(good(4), { tagId, traits: { email: good(4), notes: 'n'.repeat(10_000_000) } }),
          event(good(5), { tagId })
        ]

        const started = Date.now()
        const results = await sync(destination, events, { audienceId })
        const elapsed = Date.now() - started

        expect(results.map((result) => result.status)).toEqual([200, 400, 400, 400, 200, 200])
        expect(results[1].errormessage).toMatch(/fewer than 88 characters.*Shorten the cohort name/)
        expect(results[2].errormessage).toMatch(/Not an email address: user property "email".*254 at most/)
        expect(results[3].errormessage).toMatch(/Not an email address: user property "email".*254 at most/)
        for (const result of results.slice(1, 4)) expect(result.errormessage!.length).toBeLessThan(SHORT_MESSAGE)
        expect(elapsed).toBeLessThan(QUICK_MS)
        // Only the good contacts reached Mailchimp, and every request it got was one it could take.
        expect(sandbox.tagMembers(audienceId, Number(tagId)).sort()).toEqual([good(0), good(4), good(5)])
        expect(sandbox.contacts(audienceId)).toHaveLength(3)
        expect(Object.keys(sandbox.counters.byStatus).every((status) => /^2\d\d$/.test(status))).toBe(true)
      } finally {
        await sandbox.close()
      }
    },
    TIMED_TEST_MS
  )

  describe('ids that would make a megabyte URL', () => {
    expectNoRequestInEachTest()

    it(
      'refuses a megabyte audience_id of letters and digits, naming audience_id, without a request',
      async () => {
        const id = 'a'.repeat(1_000_000)
        const destination = realHosts()
        const started = Date.now()
        const results = await sync(
          destination,
          [
            event('ada@mail.sample-shop.dev', { tagId: '4242' }),
            event('bob@mail.sample-shop.dev', { cohort: 'Power' })
          ],
          { audienceId: id }
        )
        const created = await rejectionOf(
          destination.createAudience({
            settings: { ...nockSettings, audience_id: id },
            audienceName: 'Power users',
            audienceSettings: {}
          })
        )

        expect(Date.now() - started).toBeLessThan(QUICK_MS)
        expect(results.map((result) => result.status)).toEqual([400, 400])
        for (const message of [results[0].errormessage!, created.message]) {
          expect(message).toMatch(/audience_id/)
          expect(message.length).toBeLessThan(SHORT_MESSAGE)
        }
      },
      TIMED_TEST_MS
    )

    it('refuses a megabyte tag id of digits without a request', async () => {
      const tagId = '1'.repeat(1_000_000)
      const destination = realHosts()
      const [result] = await sync(destination, [event('ada@mail.sample-shop.dev', { tagId })], {
        audienceId: AUDIENCE_ID
      })
      const got = await rejectionOf(
        destination.getAudience({ settings: nockSettings, externalId: tagId, audienceSettings: {} })
      )

      expect(result.status).toBe(400)
      for (const message of [result.errormessage!, got.message]) {
        expect(message).toMatch(/tag id/i)
        expect(message.length).toBeLessThan(SHORT_MESSAGE)
      }
    })
  })
})

// ---------------------------------------------------------------------------------------------------------------------
// Prototype pollution

describe('__proto__, constructor and prototype keys are ordinary, missing properties', () => {
  const requests = recordEachTest()

  afterEach(() => {
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('email')
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  const HOSTILE_TRAITS =
    '{"__proto__": {"email": "proto@mail.sample-shop.dev", "polluted": "yes"},' +
    ' "constructor": {"prototype": {"email": "ctor@mail.sample-shop.dev", "polluted": "yes"}},' +
    ' "prototype": {"email": "p@mail.sample-shop.dev", "polluted": "yes"}}'

  it('does not read an email inherited through them, and pollutes nothing', async () => {
    const traits = JSON.parse(HOSTILE_TRAITS) as Record<string, unknown>
    expect(Object.keys(traits)).toEqual(['__proto__', 'constructor', 'prototype']) // own properties, as a host parses them
    const [result] = await sync(realHosts(), [event(undefined, { tagId: '4242', traits })], { audienceId: AUDIENCE_ID })
    expect(result.status).toBe(400)
    expect(result.errormessage).toMatch(/No email address: .*user property "email" \(Email Property setting\)/)
    expect(requests().urls).toEqual([])
  })

  it.each(['__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString', 'valueOf', '__defineGetter__'])(
    'takes Email Property %j as a missing email and names it',
    async (property) => {
      const traits = JSON.parse('{"email": "ada@mail.sample-shop.dev"}') as Record<string, unknown>
      const [result] = await sync(realHosts(), [event(undefined, { tagId: '4242', traits })], {
        audienceId: AUDIENCE_ID,
        emailProperty: property
      })
      expect(result.status).toBe(400)
      expect(result.errormessage).toContain(`user property ${JSON.stringify(property)} (Email Property setting)`)
      expect(result.errormessage).toMatch(/missing or empty/)
      expect(requests().urls).toEqual([])
    }
  )

  it('takes an own "__proto__" object under Email Property "__proto__" as no email, and names it', async () => {
    const traits = JSON.parse(HOSTILE_TRAITS) as Record<string, unknown>
    const [result] = await sync(realHosts(), [event(undefined, { tagId: '4242', traits })], {
      audienceId: AUDIENCE_ID,
      emailProperty: '__proto__'
    })
    expect(result.status).toBe(400)
    expect(result.errormessage).toMatch(/No email address: .*user property "__proto__"/)
    expect(requests().urls).toEqual([])
  })

  it('refuses __proto__ and constructor merge fields as unknown, and pollutes nothing', async () => {
    const sandbox = await startSandbox({ tokens: [TOKEN] })
    try {
      const audienceId = sandbox.addAudience({ name: 'Newsletter' })
      const destination = host({ endpoints: sandbox.endpoints })
      const details = JSON.parse(
        '{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}'
      )
      const [result] = await sync(
        destination,
        [
          event('ada@mail.sample-shop.dev', {
            cohort: 'Power users',
            traits: { email: 'ada@mail.sample-shop.dev', details }
          })
        ],
        {
          audienceId,
          mapping: { merge_fields: { '@path': '$.traits.details' } }
        }
      )
      expect(result.status).toBe(400)
      expect(result.errormessage).toMatch(/Unknown merge field.*(__PROTO__|CONSTRUCTOR)/)
      expect(sandbox.contacts(audienceId)).toEqual([])
    } finally {
      await sandbox.close()
    }
  })
})
