import nock from 'nock'
import { createRequestClient, createTestIntegration, IntegrationError, RetryableError } from '@segment/actions-core'
import definition, { mailchimpCohorts } from '../src'
import {
  API,
  AUDIENCE_ID,
  LOGIN,
  TOKEN,
  api,
  metadata,
  problem,
  settings,
  expectNotRequested,
  firstAudiences,
  rejectionOf
} from './helpers'

const destination = createTestIntegration(definition)

describe('testAuthentication', () => {
  it('passes when the token works and the audience exists', async () => {
    metadata()
    const audience = api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query({ fields: 'id,name,double_optin' })
      .reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })

    await expect(destination.testAuthentication(settings)).resolves.not.toThrow()
    expect(audience.isDone()).toBe(true)
  })

  it('asks the operator to connect Mailchimp when there is no token', async () => {
    const { oauth: _oauth, ...withoutToken } = settings
    await expect(destination.testAuthentication(withoutToken)).rejects.toThrow(/No Mailchimp access token/)
  })

  it('asks the operator to reconnect when Mailchimp revoked the token', async () => {
    nock(LOGIN).get('/oauth2/metadata').reply(401, { error: 'invalid_token', error_description: 'Invalid token' })
    await expect(destination.testAuthentication(settings)).rejects.toThrow(/Reconnect Mailchimp/)
  })

  it('asks the operator to reconnect when the API refuses the token', async () => {
    metadata()
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(
        ...problem(
          401,
          'API Key Invalid',
          'Your API key may be invalid, or you’ve attempted to access the wrong datacenter.'
        )
      )
    await expect(destination.testAuthentication(settings)).rejects.toThrow(/Reconnect Mailchimp/)
  })

  it('names the audience ID Mailchimp does not know, and up to five audiences the token can see', async () => {
    metadata()
    api()
      .get('/3.0/lists/0000000000')
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    const visible = ['Newsletter', 'Customers', 'Partners', 'Press', 'Events'].map((name, i) => ({
      id: `a${i}b${i}c${i}d${i}e${i}`,
      name
    }))
    const listing = firstAudiences(visible, 7)
    const error = await destination
      .testAuthentication({ ...settings, audience_id: '0000000000' })
      .catch((e: Error) => e)
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).message).toContain('"0000000000"')
    expect((error as Error).message).toContain('audience_id')
    expect((error as Error).message).toContain(
      'Audiences this connection can see: "Newsletter" (a0b0c0d0e0), "Customers" (a1b1c1d1e1), "Partners" (a2b2c2d2e2), "Press" (a3b3c3d3e3), "Events" (a4b4c4d4e4) and 2 more.'
    )
    expect(listing.isDone()).toBe(true)
  })

  it('says so when the token sees no audience at all', async () => {
    metadata()
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    firstAudiences([])
    await expect(destination.testAuthentication(settings)).rejects.toThrow(
      /no audience "57afe96172".*sees no audience in the account: create one in Mailchimp first/
    )
  })

  it('still names the unknown audience ID when the audiences cannot be listed', async () => {
    metadata()
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    const listing = api().get('/3.0/lists').query(true).reply(503, 'Service Unavailable')
    const test = definition.authentication?.testAuthentication
    const error = await rejectionOf<IntegrationError>(
      Promise.resolve().then(() =>
        test?.(createRequestClient(), { settings, auth: { accessToken: TOKEN, refreshToken: '' } })
      )
    )
    expect(error).toBeInstanceOf(IntegrationError)
    expect(error.status).toBe(404)
    expect(error.message).toBe(
      'Mailchimp has no audience "57afe96172" in this account. Check the Audience ID setting (audience_id). In Mailchimp, open Audience > All contacts > Settings > Audience name and defaults: the Audience ID is shown there.'
    )
    expect(listing.isDone()).toBe(true)
  })

  it('reports a metadata endpoint that is down as retryable', async () => {
    nock(LOGIN).get('/oauth2/metadata').reply(503, 'Service Unavailable')
    const test = definition.authentication?.testAuthentication
    const error = await Promise.resolve()
      .then(() => test?.(createRequestClient(), { settings, auth: { accessToken: TOKEN, refreshToken: '' } }))
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetryableError)
    expect((error as RetryableError).status).toBe(503)

    // Through the host's wrapper the operator reads that Mailchimp is down, not that the token is wrong.
    nock(LOGIN).get('/oauth2/metadata').reply(503, 'Service Unavailable')
    await expect(destination.testAuthentication(settings)).rejects.toThrow(
      /temporarily unavailable \(503\); try again later/
    )
  })

  it('refuses an audience ID that is not letters and digits before any request', async () => {
    const lookup = metadata()
    const error = await rejectionOf(destination.testAuthentication({ ...settings, audience_id: '../x' }))
    expect(error.message).toMatch(/letters and digits/)
    expectNotRequested(lookup)
  })

  it('never puts the token in an error message', async () => {
    nock(LOGIN).get('/oauth2/metadata').reply(401, { error: 'invalid_token' })
    const error = (await destination.testAuthentication(settings).catch((e: Error) => e)) as Error
    expect(error.message).toMatch(/Reconnect/)
    expect(error.message).not.toContain(TOKEN)
  })
})

describe('an API key, whose data center the embedding program knows', () => {
  it('goes straight to the key’s data center with the key as a bearer token, without the OAuth metadata lookup', async () => {
    const key = '0123456789abcdef0123456789abcdef-us6'
    const withKey = createTestIntegration(mailchimpCohorts({ dataCenter: 'us6' }))
    const audience = nock(API, { reqheaders: { authorization: `Bearer ${key}` } })
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })
    const lookup = nock(LOGIN).get('/oauth2/metadata').reply(200, { dc: 'us1' })

    const keySettings = { ...settings, oauth: { access_token: key } }
    await withKey.testAuthentication(keySettings)
    expect(audience.isDone()).toBe(true)
    expectNotRequested(lookup)
  })

  it('refuses a data center that is not one, before anything is built', () => {
    expect(() => mailchimpCohorts({ dataCenter: 'evil.example.com/x' })).toThrow(/must be a Mailchimp data center/)
  })
})
