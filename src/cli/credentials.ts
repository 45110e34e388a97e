import { UsageError } from './errors'

/** How the command reaches Mailchimp: an OAuth token, or an API key (which names its data center). */
export type Credentials = { kind: 'oauth'; token: string } | { kind: 'apiKey'; token: string; dataCenter: string }

/** An API key is 32 hexadecimal characters, a dash and its data center: `0123…cdef-us6`. */
const API_KEY = /^[0-9a-f]{32}-([a-z]+[0-9]+)$/i
/** What an HTTP header can carry as a credential: visible ASCII, no spaces. */
const VISIBLE_ASCII = /^[\x21-\x7e]+$/
const MAX_LENGTH = 512
const VARIABLES = ['MAILCHIMP_ACCESS_TOKEN', 'MAILCHIMP_API_KEY'] as const

const codePoint = (char: string) => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`

/** What is wrong with a credential's characters, said so that the operator knows what to remove. */
function flaw(value: string): string | undefined {
  if (value.length > MAX_LENGTH) return `is ${value.length} characters long; Mailchimp's are far shorter`
  // eslint-disable-next-line no-control-regex
  const control = /[\u0000-\u001f\u007f-\u009f]/.exec(value)
  if (control) {
    const where = control.index === value.length - 1 ? 'at its end' : `at character ${control.index + 1}`
    const what = /[\r\n]/.test(control[0]) ? 'a line break' : `a control character (${codePoint(control[0])})`
    return `contains ${what} ${where}: set it again without it`
  }
  const space = /\s/.exec(value)
  if (space) return `contains a space at character ${space.index + 1}: a credential has none; set it again without it`
  if (!VISIBLE_ASCII.test(value)) {
    const other = [...value].find((char) => !VISIBLE_ASCII.test(char)) ?? ''
    return `contains ${JSON.stringify(other)} (${codePoint(other)}), which no Mailchimp credential has (a quote pasted along?): set it again without it`
  }
  return undefined
}

/**
 * The credentials in the environment, checked before any request: a variable that is set must hold a credential of
 * the right shape (set but empty or blank is a mistake, not an absence). `undefined` when neither is set.
 */
export function credentialsFrom(env: NodeJS.ProcessEnv): Credentials | undefined {
  const set = VARIABLES.filter((name) => env[name] !== undefined)
  if (set.length === 2)
    throw new UsageError('Both MAILCHIMP_ACCESS_TOKEN and MAILCHIMP_API_KEY are set: unset one of them.')
  const name = set[0]
  if (name === undefined) return undefined
  // Spaces around a pasted value are harmless; anything else around or inside it is reported.
  const value = (env[name] ?? '').replace(/^ +| +$/g, '')
  if (value === '') {
    throw new UsageError(
      `${name} is set but empty: put the credential in it, or unset it and pass --sandbox to try the local sandbox.`
    )
  }
  const problem = flaw(value)
  if (problem) throw new UsageError(`${name} ${problem}.`)
  if (name === 'MAILCHIMP_ACCESS_TOKEN') {
    if (API_KEY.test(value)) {
      throw new UsageError(
        'MAILCHIMP_ACCESS_TOKEN holds what looks like an API key (it ends with a data center, such as "-us6"): put it in MAILCHIMP_API_KEY instead.'
      )
    }
    return { kind: 'oauth', token: value }
  }
  const match = API_KEY.exec(value)
  if (!match) {
    throw new UsageError(
      'MAILCHIMP_API_KEY does not look like a Mailchimp API key: it should end with its data center, as in 32 hexadecimal characters, a dash and the data center ("0123456789abcdef0123456789abcdef-us6"). An OAuth token goes in MAILCHIMP_ACCESS_TOKEN instead.'
    )
  }
  return { kind: 'apiKey', token: value, dataCenter: match[1].toLowerCase() }
}

/** Said when neither credential nor --sandbox is given. */
export const NO_CREDENTIALS =
  'No credentials: set MAILCHIMP_ACCESS_TOKEN (an OAuth token) or MAILCHIMP_API_KEY (an API key, such as "…-us6") to sync into Mailchimp, or pass --sandbox to try the file against a local sandbox.'
