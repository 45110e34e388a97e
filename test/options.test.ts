import { Destination } from '@segment/actions-core'
import { mailchimpCohorts } from '../src'
import type { DestinationOptions } from '../src'
import { startSandbox } from '../src/sandbox'

// The embedding program's options: checked once, when the definition is built, with a TypeError naming the option.

describe('options of mailchimpCohorts()', () => {
  it('takes the sandbox’s printed apiBaseUrl as a string, and connects through it', async () => {
    const sandbox = await startSandbox()
    try {
      const audienceId = sandbox.addAudience({ name: 'Newsletter' })
      const printed = { metadataUrl: sandbox.endpoints.metadataUrl, apiBaseUrl: `${sandbox.url}/3.0/` }
      const destination = new Destination(mailchimpCohorts({ endpoints: printed }))
      const settings = { audience_id: audienceId, email_property: 'email', oauth: { access_token: 'sandbox-token' } }
      await expect(destination.testAuthentication(settings)).resolves.toBeUndefined()
      const { externalId } = await destination.createAudience({ settings, audienceName: 'Power users' })
      expect(sandbox.tags(audienceId).map((tag) => [String(tag.id), tag.name])).toEqual([[externalId, 'Power users']])
    } finally {
      await sandbox.close()
    }
  })

  it.each<[string, unknown, RegExp]>([
    ['endpoints as a string', 'http://127.0.0.1:1234', /^options\.endpoints must be \{ metadataUrl, apiBaseUrl \}/],
    [
      'apiBaseUrl as a number',
      { metadataUrl: 'http://127.0.0.1:1/oauth2/metadata', apiBaseUrl: 42 },
      /^options\.endpoints\.apiBaseUrl must be a base URL string or a function/
    ],
    [
      'apiBaseUrl that is no URL',
      { metadataUrl: 'http://127.0.0.1:1/oauth2/metadata', apiBaseUrl: 'us6' },
      /^options\.endpoints\.apiBaseUrl/
    ],
    [
      'metadataUrl missing',
      { apiBaseUrl: () => 'http://127.0.0.1:1/3.0' },
      /^options\.endpoints\.metadataUrl must be an http\(s\) URL string/
    ],
    [
      'metadataUrl of another scheme',
      { metadataUrl: 'file:///etc/passwd', apiBaseUrl: () => 'x' },
      /^options\.endpoints\.metadataUrl/
    ]
  ])('refuses %s at once, naming the option', (_, endpoints, message) => {
    expect(() => mailchimpCohorts({ endpoints } as DestinationOptions)).toThrow(TypeError)
    expect(() => mailchimpCohorts({ endpoints } as DestinationOptions)).toThrow(message)
  })

  it.each([0, 11, 2.5, '8', NaN])('refuses maxRequestsInFlight %p: an integer from 1 to 10', (value) => {
    expect(() => mailchimpCohorts({ maxRequestsInFlight: value as number })).toThrow(
      /^options\.maxRequestsInFlight must be an integer from 1 to 10 \(Mailchimp's limit\)/
    )
  })

  it.each([1, 6, 10])('takes maxRequestsInFlight %p', (value) => {
    expect(mailchimpCohorts({ maxRequestsInFlight: value }).name).toBe('Mailchimp Cohorts')
  })

  it.each([0, -5, 1.5, '60000'])('refuses requestTimeoutMs %p', (value) => {
    expect(() => mailchimpCohorts({ requestTimeoutMs: value as number })).toThrow(
      /^options\.requestTimeoutMs must be a positive integer/
    )
  })
})
