import nock from 'nock'
import {
  createRequestClient,
  IntegrationError,
  InvalidAuthenticationError,
  RetryableError
} from '@segment/actions-core'
import type { StateContext } from '@segment/actions-core'
import type { RequestClient } from '@segment/actions-core'
import type { DestinationOptions } from '../src'
import { connect } from '../src/destinations/mailchimp-cohort/connection'
import { memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'
import { accountCapacity } from '../src/destinations/mailchimp-cohort/mailchimp/limits'
import { INITIAL_SHARE } from '../src/destinations/mailchimp-cohort/constants'
import { resolveOptions } from '../src/destinations/mailchimp-cohort/options'
import { AUDIENCE_ID, LOGIN, TOKEN, api, metadata, problem, expectNotRequested, rejectionOf } from './helpers'

const AUDIENCE = { id: AUDIENCE_ID, name: 'Newsletter', double_optin: true }

/** The client for TOKEN, built the one way the plugin builds it. */
function client(
  { stateContext, ...options }: DestinationOptions & { stateContext?: StateContext } = {},
  request: RequestClient = createRequestClient()
) {
  return connect(request, { token: TOKEN, stateContext }, resolveOptions(options)).client
}

function audienceCall() {
  return api().get(`/3.0/lists/${AUDIENCE_ID}`).query(true)
}

/** A host's stateContext: what one request sets, the next request can read. */
function hostState(): StateContext & { saved: Map<string, string> } {
  const saved = new Map<string, string>()
  return {
    saved,
    getRequestContext: (key: string) => saved.get(key),
    setResponseContext: (key: string, value: string) => void saved.set(key, value)
  }
}

describe('MailchimpClient', () => {
  describe('data center', () => {
    it('asks the metadata endpoint once and reuses the answer', async () => {
      const lookup = metadata(1)
      audienceCall().times(3).reply(200, AUDIENCE)
      const mailchimp = client()

      await Promise.all([mailchimp.getAudience(AUDIENCE_ID), mailchimp.getAudience(AUDIENCE_ID)])
      await client().getAudience(AUDIENCE_ID)

      expect(lookup.isDone()).toBe(true)
      expect(nock.pendingMocks()).toEqual([])
    })

    it('keeps it in the host stateContext under a key that does not hold the token', async () => {
      metadata(1)
      audienceCall().reply(200, AUDIENCE)
      const state = hostState()

      await client({ stateContext: state }).getAudience(AUDIENCE_ID)

      const keys = [...state.saved.keys()]
      expect(keys).toHaveLength(1)
      expect(keys[0]).toMatch(/^mailchimp-cohort:dc:[0-9a-f]{16}$/)
      expect(keys.join()).not.toContain(TOKEN)
      expect(state.saved.get(keys[0])).toBe('us6')
    })

    it('reads it from the host stateContext of another worker', async () => {
      const state = hostState()
      metadata(1)
      audienceCall().times(2).reply(200, AUDIENCE)
      await client({ stateContext: state }).getAudience(AUDIENCE_ID)

      memoryCache.clear() // another process: nothing in memory, only what the host carried over
      await client({ stateContext: state }).getAudience(AUDIENCE_ID)

      expect(nock.pendingMocks()).toEqual([])
    })

    it('ignores api_endpoint and refuses a data center that would point at another host', async () => {
      nock(LOGIN)
        .get('/oauth2/metadata')
        .reply(200, { dc: 'evil.example.com#', api_endpoint: 'https://evil.example.com' })
      const evil = nock('https://evil.example.com').get(/.*/).reply(200, AUDIENCE)

      const error = await rejectionOf(client().getAudience(AUDIENCE_ID))

      expect(error).toBeInstanceOf(IntegrationError)
      expect(error.message).toMatch(/unexpected data center/)
      expectNotRequested(evil)
    })

    it('only ever calls <dc>.api.mailchimp.com, whatever api_endpoint says', async () => {
      nock(LOGIN).get('/oauth2/metadata').reply(200, { dc: 'us6', api_endpoint: 'https://evil.example.com' })
      const evil = nock('https://evil.example.com').get(/.*/).reply(200, AUDIENCE)
      const real = audienceCall().reply(200, AUDIENCE)

      await client().getAudience(AUDIENCE_ID)

      expect(real.isDone()).toBe(true)
      expectNotRequested(evil)
    })

    it('writes the answer into the host context of every caller that shared one lookup', async () => {
      metadata(1)
      audienceCall().times(2).reply(200, AUDIENCE)
      const [first, second] = [hostState(), hostState()]

      await Promise.all([
        client({ stateContext: first }).getAudience(AUDIENCE_ID),
        client({ stateContext: second }).getAudience(AUDIENCE_ID)
      ])

      expect([...first.saved.values()]).toEqual(['us6'])
      expect([...second.saved.values()]).toEqual(['us6'])
    })

    it('takes a cached value that is not a data center for a miss', async () => {
      const state = hostState()
      const key = `mailchimp-cohort:dc:${client().account}`
      state.saved.set(key, 'evil.example.com')
      metadata(1)
      audienceCall().reply(200, AUDIENCE)

      await client({ stateContext: state }).getAudience(AUDIENCE_ID)

      expect(state.saved.get(key)).toBe('us6')
    })

    it('keeps the caches of builds pointed at different hosts apart', () => {
      const sandbox = client({
        endpoints: { metadataUrl: 'http://127.0.0.1:9/oauth2/metadata', apiBaseUrl: () => 'http://127.0.0.1:9/3.0' }
      })
      expect(sandbox.account).not.toBe(client().account)
    })

    it('refuses to follow a redirect, so the token never reaches another host', async () => {
      metadata()
      audienceCall().reply(302, '', { location: 'https://evil.example.com/steal' })
      const evil = nock('https://evil.example.com').get(/.*/).reply(200, AUDIENCE)

      const error = await rejectionOf<IntegrationError>(client().getAudience(AUDIENCE_ID))

      expect(error).toBeInstanceOf(IntegrationError)
      expect(error.code).toBe('REDIRECT_REFUSED')
      expectNotRequested(evil)
    })

    it('sends the token as "OAuth" to the metadata endpoint and as "Bearer" to the API', async () => {
      const lookup = metadata() // both helpers pin the exact Authorization header
      const call = audienceCall().reply(200, AUDIENCE)
      await client().getAudience(AUDIENCE_ID)
      expect(lookup.isDone() && call.isDone()).toBe(true)
    })
  })

  describe('audience_id in the URL', () => {
    it.each(['../x', '57afe96172/../../lists', '57afe96172?x=1', '', ' ', 'abc%2F..'])(
      'refuses %j before any request',
      async (audienceId) => {
        const lookup = metadata()
        await expect(client().getAudience(audienceId)).rejects.toThrow(/letters and digits/)
        expectNotRequested(lookup)
      }
    )
  })

  describe('errors', () => {
    beforeEach(() => metadata())

    /** Reads the audience and returns what the call was rejected with. */
    const failure = <E = Error>(mailchimp = client()) => rejectionOf<E>(mailchimp.getAudience(AUDIENCE_ID))

    it('maps 401 to InvalidAuthenticationError asking to reconnect', async () => {
      audienceCall().reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.'))
      const error = await failure()
      expect(error).toBeInstanceOf(InvalidAuthenticationError)
      expect(error.message).toMatch(/Reconnect Mailchimp/)
    })

    it('maps 400 to IntegrationError carrying Mailchimp’s detail and instance', async () => {
      audienceCall().reply(...problem(400, 'Invalid Resource', 'The resource submitted could not be validated.'))
      const error = await failure<IntegrationError>()
      expect(error).toBeInstanceOf(IntegrationError)
      expect(error.status).toBe(400)
      expect(error.code).toBe('INVALID_RESOURCE')
      expect(error.message).toContain('could not be validated')
      expect(error.message).toContain('995c5cb0-3280-4a6e-808b-3b096d0bb219')
    })

    it('maps 403 with a problem body to a non-retryable IntegrationError, and keeps the account’s share', async () => {
      audienceCall().reply(...problem(403, 'Forbidden', 'You don’t have permission to access this resource.'))
      const mailchimp = client()
      const error = await failure<IntegrationError>(mailchimp)
      expect(error).toBeInstanceOf(IntegrationError)
      expect(error.status).toBe(403)
      expect(accountCapacity(mailchimp.account)).toBe(INITIAL_SHARE)
    })

    it.each([
      ['a bare 403', 403, ''],
      ['a 429', 429, '']
    ])('treats %s as Mailchimp’s throttle: retryable 429, and a smaller share for the account', async (_, status) => {
      audienceCall().reply(status, '')
      const mailchimp = client()
      const error = await failure<RetryableError>(mailchimp)
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(429)
      expect(accountCapacity(mailchimp.account)).toBeLessThan(INITIAL_SHARE)
    })

    it.each([429, 500, 502, 503])('maps %i to a retryable error with that status', async (status) => {
      audienceCall().reply(status, '<html>busy</html>', { 'content-type': 'text/html' })
      const error = await failure<RetryableError>()
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(status)
    })

    // A date is built when its row runs, not when the file loads, so the wait it stands for does not shrink meanwhile.
    const secondsFromNow = (seconds: number) => () => new Date(Date.now() + seconds * 1000).toUTCString()
    it.each<[string, string | (() => string) | undefined, RegExp]>([
      ['seconds', '30', /try again in 30 s: You have exceeded/],
      ['an HTTP date', secondsFromNow(120), /try again in 1(19|20) s:/],
      ['one day, the longest wait it repeats', '86400', /try again in 86400 s:/],
      ['absurd: 400 nines', '9'.repeat(400), /try again later: You have exceeded/],
      ['absurd: a date years away', secondsFromNow(5 * 365 * 86_400), /try again later: You have exceeded/],
      ['nothing readable', 'soon', /try again later: You have exceeded/],
      ['no header', undefined, /try again later: You have exceeded/]
    ])('says how long to wait on a 429 whose Retry-After is %s', async (_name, header, message) => {
      const [status, body, headers] = problem(429, 'Too Many Requests', 'You have exceeded the limit of 10.')
      const retryAfter = typeof header === 'function' ? header() : header
      audienceCall().reply(status, body, retryAfter === undefined ? headers : { ...headers, 'retry-after': retryAfter })
      const error = await failure<RetryableError>()
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(429)
      expect(error.message).toMatch(message)
    })

    it('maps a timeout to a retryable 504', async () => {
      audienceCall().delay(500).reply(200, AUDIENCE)
      const error = await failure<RetryableError>(client({ requestTimeoutMs: 50 }))
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(504)
    })

    it('maps a connection reset to a retryable error', async () => {
      // nock cannot reset a connection under actions-core's fetch, so the request function fails as fetch would.
      const real = createRequestClient()
      const resetting = ((url: string, options) =>
        url.includes('/lists/')
          ? Promise.reject(Object.assign(new Error('socket hang up'), { name: 'FetchError', code: 'ECONNRESET' }))
          : real(url, options)) as RequestClient
      const error = await failure<RetryableError>(client({}, resetting))
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.message).toMatch(/ECONNRESET/)
    })

    it('does not take an unreadable 200 for success', async () => {
      audienceCall().reply(200, '{"id": "57afe96172", "na', { 'content-type': 'application/json' })
      const error = await failure<RetryableError>()
      expect(error).toBeInstanceOf(RetryableError)
      expect(error.status).toBe(502)
    })

    it('keeps the token out of every error it raises', async () => {
      const answers: Array<(scope: nock.Interceptor) => nock.Scope> = [
        (call) => call.reply(...problem(400, 'Invalid Resource', `Bad value ${AUDIENCE_ID}`)),
        (call) => call.reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.')),
        (call) => call.reply(...problem(403, 'Forbidden', 'No access.')),
        (call) => call.reply(403, ''),
        (call) => call.reply(404, ''),
        (call) => call.reply(429, ''),
        (call) => call.reply(500, 'oops'),
        (call) => call.reply(200, 'not json'),
        (call) => call.reply(302, '', { location: 'https://evil.example.com' }),
        // A timeout, far from the others: a busy machine must not time out the answers that come at once.
        (call) => call.delay(1500).reply(200, AUDIENCE)
      ]
      for (const answer of answers) {
        answer(audienceCall())
        const error = await failure<Error & Record<string, unknown>>(client({ requestTimeoutMs: 500 }))
        const everything = JSON.stringify({ ...error, message: error.message, stack: error.stack })
        expect(everything).not.toContain(TOKEN)
        expect(everything).not.toContain(TOKEN.slice(0, 12))
      }
    }, 15_000)

    it('does not take a 200 of the wrong shape for success', async () => {
      audienceCall().reply(200, { id: AUDIENCE_ID })
      await expect(client().getAudience(AUDIENCE_ID)).rejects.toBeInstanceOf(RetryableError)
    })
  })
})
