import { UsageError } from './errors'

/** How the CLI reaches Mailchimp: an OAuth token, an API key (which names its data center), or the local sandbox. */
export type Credentials =
  { kind: 'oauth'; token: string } | { kind: 'apiKey'; token: string; dataCenter: string } | { kind: 'sandbox' }

/** An API key is `<key>-<data center>`, such as `0123…cdef-us6`. */
const API_KEY = /^[A-Za-z0-9]+-([a-z]+[0-9]+)$/

export function credentialsFrom(env: NodeJS.ProcessEnv): Credentials {
  const token = env.MAILCHIMP_ACCESS_TOKEN?.trim()
  const apiKey = env.MAILCHIMP_API_KEY?.trim()
  if (token && apiKey) {
    throw new UsageError('Both MAILCHIMP_ACCESS_TOKEN and MAILCHIMP_API_KEY are set: unset one of them.')
  }
  if (token) return { kind: 'oauth', token }
  if (apiKey) {
    const match = API_KEY.exec(apiKey)
    if (!match) {
      throw new UsageError(
        'MAILCHIMP_API_KEY does not look like a Mailchimp API key: it should end with its data center, such as "…-us6". An OAuth token goes in MAILCHIMP_ACCESS_TOKEN instead.'
      )
    }
    return { kind: 'apiKey', token: apiKey, dataCenter: match[1] }
  }
  return { kind: 'sandbox' }
}
