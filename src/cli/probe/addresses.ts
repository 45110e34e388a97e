import { createHash } from 'crypto'
import { checkEmail } from '../../index'
import { UsageError } from '../errors'

/** The probe's contacts, by the part each plays in the scenario. */
export const ROLES = ['tagged', 'archived', 'unsubscribed', 'absent'] as const
export type Role = (typeof ROLES)[number]

/**
 * Mailbox providers nobody can own a domain of: the probe would create contacts at other people's addresses. A short
 * list of the big ones; the operator's word (`--domain`) covers the rest.
 */
const SHARED_DOMAINS = new Set([
  'aol.com',
  'gmail.com',
  'googlemail.com',
  'gmx.com',
  'gmx.de',
  'gmx.net',
  'hotmail.com',
  'icloud.com',
  'live.com',
  'mail.com',
  'mail.ru',
  'me.com',
  'msn.com',
  'outlook.com',
  'proton.me',
  'protonmail.com',
  'web.de',
  'yahoo.com',
  'yandex.com',
  'yandex.ru',
  'zoho.com'
])

/** `--domain`, checked: a domain an address can have, and not a shared mailbox provider's. */
export function checkDomain(value: string | undefined): string {
  const domain = value?.trim().toLowerCase().replace(/^@/, '') ?? ''
  if (!domain) {
    throw new UsageError(
      '--domain is required: the probe creates throw-away contacts, and only at addresses of a domain you own (e.g. --domain acme.dev). It never touches any other contact.'
    )
  }
  const check = checkEmail(`probe@${domain}`)
  if (!check.ok || /[^a-z0-9.-]/.test(domain)) {
    throw new UsageError(`--domain ${JSON.stringify(domain)} is not a domain name such as acme.dev.`)
  }
  if (SHARED_DOMAINS.has(domain)) {
    throw new UsageError(
      `--domain ${domain} belongs to a mailbox provider: the probe's contacts would be other people's addresses. Give a domain you own.`
    )
  }
  return domain
}

/** Mailchimp's id for a contact in member paths: the MD5 of the lower-cased address. */
export function subscriberHash(email: string): string {
  return createHash('md5').update(email.trim().toLowerCase()).digest('hex')
}

const EMAIL_LIKE = /[^\s"'<>(),;:@/\\]+@[^\s"'<>(),;:@/\\]+/g

/**
 * The probe's addresses for one run (`mc-probe-<run>-<role>@<domain>`), and the guard that keeps every request to them:
 * the probe never touches a contact outside the operator's domain, nor one it did not make up for this run.
 */
export class ProbeAddresses {
  readonly byRole: Record<Role, string>
  private readonly own: Set<string>
  private readonly ownHashes: Set<string>

  constructor(
    readonly domain: string,
    readonly runId: string
  ) {
    this.byRole = Object.fromEntries(ROLES.map((role) => [role, `mc-probe-${runId}-${role}@${domain}`])) as Record<
      Role,
      string
    >
    this.own = new Set(Object.values(this.byRole))
    this.ownHashes = new Set([...this.own].map(subscriberHash))
  }

  /** The member path segment of one of the run's addresses. */
  hashOf(role: Role): string {
    return subscriberHash(this.byRole[role])
  }

  /**
   * Refuses, before it is sent, a request whose body or path names an address (or a member hash) that is not one of
   * this run's: a bug in the scenario must never reach a real contact.
   */
  assertOwn(path: string, body: unknown): void {
    const text = body === undefined ? '' : JSON.stringify(body)
    for (const found of text.match(EMAIL_LIKE) ?? []) {
      if (!this.own.has(found.toLowerCase())) throw new ForeignAddressError(found)
    }
    const member = /\/members\/([^/?]+)/.exec(path)?.[1]
    if (member !== undefined && !this.ownHashes.has(member.toLowerCase())) throw new ForeignAddressError(member)
  }
}

/** A request that would have touched a contact the probe did not create: never sent. */
export class ForeignAddressError extends Error {
  override name = 'ForeignAddressError'
  constructor(what: string) {
    super(`The probe refused to send a request about ${JSON.stringify(what)}: not one of this run's addresses.`)
  }
}
