import { domainToASCII } from 'url'
import { MAX_EMAIL_LENGTH } from './constants'

/** An address the plugin would send, or the rule it breaks. */
export type EmailCheck = { ok: true; email: string; key: string } | { ok: false; rule: string }

/** Control, format (zero-width, bidi), separator and other invisible characters, and whitespace inside an address. */
const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\s\u115f\u1160\u3164\uffa0]/u
/** A domain that needs no IDNA mapping: plain ASCII, no punycode label to verify. */
const PLAIN_DOMAIN = /^[A-Za-z0-9.-]+$/
/** A DNS host label (RFC 1123): letters, digits and hyphens, not starting or ending with a hyphen. */
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/
const MAX_LOCAL_PART = 64
/**
 * The common case in one test: printable ASCII before the @, plain LDH labels after it, a top-level label that starts
 * with a letter, no punycode to verify. Anything else takes the long way, which also names the rule broken.
 */
const PLAIN_ADDRESS =
  /^[\x21-\x3f\x41-\x7e]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/

const codePoint = (char: string) => `U+${(char.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`

/**
 * The one rule for email addresses, shared by the plugin and the command. An international domain is sent in its ASCII
 * form (IDNA, `url.domainToASCII`): `user@bücher.de` and `user@xn--bcher-kva.de` are one contact, under the one
 * spelling every mail system accepts. The local part is sent as given and matched ignoring letter case, as Mailchimp
 * does. `value` must already be trimmed.
 */
export function checkEmail(value: string): EmailCheck {
  if (value.length <= MAX_EMAIL_LENGTH && PLAIN_ADDRESS.test(value)) {
    const key = value.toLowerCase()
    // Punycode labels take the long way, which checks them.
    if (!key.includes('xn--')) return { ok: true, email: value, key }
  }
  if (value.length > 4 * MAX_EMAIL_LENGTH) return { ok: false, rule: `more than ${MAX_EMAIL_LENGTH} characters` }
  const invisible = INVISIBLE.exec(value)
  if (invisible) {
    return { ok: false, rule: `it contains an invisible, space or control character (${codePoint(invisible[0])})` }
  }
  const at = value.lastIndexOf('@')
  if (at <= 0 || at === value.length - 1) return { ok: false, rule: 'it needs a name, an @ and a domain' }
  const local = value.slice(0, at)
  const domain = value.slice(at + 1)
  if (local.includes('@')) return { ok: false, rule: 'it has more than one @' }
  if (local.length > MAX_LOCAL_PART)
    return { ok: false, rule: `the part before the @ is over ${MAX_LOCAL_PART} characters` }
  if (domain.endsWith('.')) return { ok: false, rule: 'the domain ends with a dot' }
  const plain = PLAIN_DOMAIN.test(domain) && !/xn--/i.test(domain)
  const ascii = plain ? domain.toLowerCase() : domainToASCII(domain)
  if (ascii === '') return { ok: false, rule: 'the domain is not a valid international domain name' }
  const labels = ascii.split('.')
  if (labels.length < 2) return { ok: false, rule: 'the domain has no dot' }
  const bad = labels.find((label) => !LABEL.test(label))
  if (bad !== undefined) {
    return {
      ok: false,
      rule:
        bad === ''
          ? 'the domain has an empty label (two dots in a row, or a leading dot)'
          : `the domain label "${bad.slice(0, 63)}" is not letters, digits and inner hyphens`
    }
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) return { ok: false, rule: 'the domain is an IP address, not a name' }
  // A plain domain keeps the case it was given; an international one is sent in its ASCII form.
  const email = `${local}@${plain ? domain : ascii}`
  if (email.length > MAX_EMAIL_LENGTH) return { ok: false, rule: `more than ${MAX_EMAIL_LENGTH} characters` }
  return { ok: true, email, key: `${local.toLowerCase()}@${ascii}` }
}

/** Whether a trimmed value is an address the plugin would send. */
export function isEmailAddress(value: string): boolean {
  return checkEmail(value).ok
}

/**
 * The key of an address Mailchimp sent back: the plugin sends only ASCII domains, so lower-casing matches the key
 * `checkEmail` gave it.
 */
export function foldEmail(email: string): string {
  return email.trim().toLowerCase()
}
