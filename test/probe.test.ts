import { spawn } from 'child_process'
import { mkdtempSync, readdirSync, readFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import type { ProbeIo } from '../src/cli/probe'
import { ForeignAddressError, ProbeAddresses, subscriberHash } from '../src/cli/probe/addresses'
import { assertRedacted, PLACEHOLDERS, Recording, redactExchanges } from '../src/cli/probe/recording'
import type { Secrets } from '../src/cli/probe/recording'
import { run } from '../src/cli/program'
import type { Io } from '../src/cli/program'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'

// `mailchimp-cohort probe` against sandboxes of the tests' own: never against Mailchimp.

const DOMAIN = 'mail.sample-shop.dev'
const root = join(__dirname, '..')
let sandbox: MailchimpSandbox
let audienceId: string

/** Everything the sandbox holds, to show that a run leaves the audience as it found it. */
const state = () => JSON.stringify([sandbox.contacts(audienceId), sandbox.tags(audienceId)])
const runContacts = () => sandbox.contacts(audienceId).filter((c) => c.email_address.startsWith('mc-probe-'))

async function probe(args: string[], extra: Partial<ProbeIo> = {}) {
  let stdout = ''
  let stderr = ''
  const io: Io & ProbeIo = {
    env: {},
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    sandbox: { endpoints: sandbox.endpoints, url: sandbox.url, token: 'sandbox-token' },
    ...extra
  }
  const code = await run(['probe', ...args], io)
  return { code, stdout, stderr }
}

const inSandbox = (...more: string[]) => ['--sandbox', '--domain', DOMAIN, '--audience', audienceId, ...more]

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting')
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

beforeEach(async () => {
  sandbox = await startSandbox()
  audienceId = sandbox.addAudience({ name: 'Newsletter' })
  // Someone else's contacts, at the probe's domain and elsewhere: the probe must leave them exactly as they are.
  sandbox.addContacts(audienceId, [
    { email_address: `ada@${DOMAIN}`, status: 'subscribed', tags: ['Customers'] },
    { email_address: 'bob@inbox.sample-co.dev', status: 'unsubscribed' }
  ])
})

afterEach(async () => {
  await sandbox.close()
})

describe('a run against the sandbox', () => {
  it('answers the eight questions one by one in plain words, then removes everything it created', async () => {
    const before = state()
    const { code, stdout } = await probe(inSandbox(), { runId: 'cafe0001' })

    expect(code).toBe(0)
    expect(stdout).toContain(`the local sandbox at ${sandbox.url} (not Mailchimp), audience ${audienceId}`)
    expect(stdout).toContain("Mailchimp's OpenAPI description does not declare: only this probe sends them")
    expect(stdout).toContain('Set-up: tag "mailchimp-cohort probe cafe0001" (id ')
    for (let n = 1; n <= 8; n++) expect(stdout).toMatch(new RegExp(`^${n}\\. .+\\?\\n {3}\\S`, 'm'))
    expect(stdout).toMatch(
      /1\. Does the tag call list a contact that already carries the tag\?\n {3}No: added a second time/
    )
    expect(stdout).toMatch(
      /5\. .*compliance state.*\n {3}A row in errors \(ERROR_CONTACT_EXISTS\).*; afterwards the contact is unsubscribed\./
    )
    expect(stdout).toMatch(/7\. .*\n {3}fields: ignored .*; exclude_fields: ignored/)
    expect(stdout).toMatch(
      /Clean-up: tag \d+ deleted; 3 contacts permanently deleted; checked: nothing the probe created remains\./
    )
    expect(state()).toEqual(before)
    expect(
      sandbox.counters.byRoute['POST /3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent']
    ).toBe(4)
  })

  it('runs in a fresh sandbox of its own with --sandbox and no credentials at all', async () => {
    let stdout = ''
    const code = await run(['probe', '--sandbox', '--domain', DOMAIN], {
      env: {},
      stdout: (text) => (stdout += text),
      stderr: () => undefined
    })
    expect(code).toBe(0)
    expect(stdout).toMatch(/a fresh local sandbox at http:\/\/127\.0\.0\.1:\d+ \(not Mailchimp\)/)
    expect(stdout).toContain('checked: nothing the probe created remains')
  })

  it('writes a recording with the token, addresses, domain, audience ID and run id replaced', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-record-'))
    const { code, stdout } = await probe(inSandbox('--record', dir), { runId: 'cafe0002' })

    expect(code).toBe(0)
    expect(stdout).toMatch(
      /Recorded 34 requests and answers to .*probe\.json \(token, addresses, domain and audience ID redacted\)/
    )
    expect(stdout).not.toContain('sandbox-token')
    const text = readFileSync(join(dir, 'probe.json'), 'utf8')
    for (const secret of [DOMAIN, 'cafe0002', audienceId, 'sandbox-token', sandbox.url])
      expect(text).not.toContain(secret)
    const recording = Recording.parse(JSON.parse(text))
    expect(recording).toMatchObject({ source: 'sandbox', credentials: 'oauth', format: 1 })
    expect(recording.findings.map((f) => f.id)).toEqual([
      'already-tagged',
      'removal-not-tagged',
      'absent-address',
      'archived-tag',
      'compliance-subscribe',
      'archived-subscribe',
      'partial-subscribe',
      'partial-tag'
    ])
    const setUp = recording.exchanges.find((e) => e.step === 'set-up: contacts')
    expect(setUp?.request.body).toEqual({
      members: [
        { email_address: 'mc-probe-00000000-tagged@probe-domain.invalid', status: 'transactional' },
        { email_address: 'mc-probe-00000000-archived@probe-domain.invalid', status: 'transactional' },
        { email_address: 'mc-probe-00000000-unsubscribed@probe-domain.invalid', status: 'unsubscribed' }
      ],
      update_existing: false
    })
    // Member paths carry the hash of the placeholder address, so a replay with the placeholders matches them.
    const archive = recording.exchanges.find((e) => e.step === 'set-up: archive')
    expect(archive?.request.path).toBe(
      `/3.0/lists/a0b1c2d3e4/members/${subscriberHash('mc-probe-00000000-archived@probe-domain.invalid')}`
    )
  })
})

describe('refusals before anything is sent', () => {
  it('refuses to run without --domain, and sends nothing', async () => {
    const { code, stderr } = await probe(['--sandbox', '--audience', audienceId])
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /--domain is required: the probe creates throw-away contacts, and only at addresses of a domain you own/
    )
    expect(sandbox.counters.total).toBe(0)
  })

  it.each([
    ['a mailbox provider', 'gmail.com', /belongs to a mailbox provider/],
    ['something that is not a domain', 'not a domain', /is not a domain name/],
    ['an address instead of a domain', `ada@${DOMAIN}`, /is not a domain name/]
  ])('refuses %s as --domain', async (_, domain, message) => {
    const { code, stderr } = await probe(['--sandbox', '--domain', domain, '--audience', audienceId])
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(sandbox.counters.total).toBe(0)
  })

  it('asks for Mailchimp credentials, or --sandbox, and for --audience with credentials', async () => {
    const none = await probe(['--domain', DOMAIN, '--audience', audienceId])
    expect(none.code).toBe(2)
    expect(none.stderr).toMatch(
      /set MAILCHIMP_ACCESS_TOKEN \(OAuth\) or MAILCHIMP_API_KEY\. To try it without an account, add --sandbox/
    )
    const noAudience = await probe(['--domain', DOMAIN], {
      env: { MAILCHIMP_API_KEY: '0123456789abcdef0123456789abcdef-us6' }
    })
    expect(noAudience.code).toBe(2)
    expect(noAudience.stderr).toMatch(/--audience is required/)
  })

  it('refuses an --audience that is not letters and digits, before any request', async () => {
    const { code, stderr } = await probe(['--sandbox', '--domain', DOMAIN, '--audience', '../../x'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/--audience "\.\.\/\.\.\/x" is not an audience ID: letters and digits/)
    expect(sandbox.counters.total).toBe(0)
  })

  it('refuses credentials Mailchimp does not accept, and creates nothing', async () => {
    const before = state()
    const { code, stderr } = await probe(inSandbox(), {
      sandbox: { endpoints: sandbox.endpoints, url: sandbox.url, token: 'revoked-token' }
    })
    expect(code).toBe(2)
    expect(stderr).toMatch(/Mailchimp refused the credentials \(401\): check the token\./)
    expect(state()).toEqual(before)
  })

  it('refuses an unknown audience, naming it, and creates nothing', async () => {
    const { code, stderr } = await probe(['--sandbox', '--domain', DOMAIN, '--audience', 'f00f00f00f'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/Mailchimp has no audience "f00f00f00f" in this account: check --audience/)
    expect(sandbox.tags(audienceId)).toHaveLength(1)
  })

  it('refuses to touch an address of the run that is already a contact, and creates nothing', async () => {
    sandbox.addContacts(audienceId, [{ email_address: `mc-probe-cafe0003-archived@${DOMAIN}`, status: 'subscribed' }])
    const before = state()
    const { code, stderr } = await probe(inSandbox(), { runId: 'cafe0003' })
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /mc-probe-cafe0003-archived@mail\.sample-shop\.dev is already a contact of audience \w+; the probe only touches contacts it creates/
    )
    expect(state()).toEqual(before)
  })
})

describe('never a contact outside the run', () => {
  const addresses = new ProbeAddresses(DOMAIN, 'cafe0004')

  it('sends requests about its own addresses only', () => {
    expect(() =>
      addresses.assertOwn('/lists/x', { members: [{ email_address: addresses.byRole.tagged }] })
    ).not.toThrow()
    expect(() => addresses.assertOwn(`/lists/x/members/${addresses.hashOf('absent')}`, undefined)).not.toThrow()
  })

  it.each([
    ['another address at the domain', '/lists/x', { members_to_add: [`ada@${DOMAIN}`] }],
    ['an address at another domain', '/lists/x', { members: [{ email_address: 'bob@inbox.sample-co.dev' }] }],
    ['the member path of another contact', `/lists/x/members/${subscriberHash(`ada@${DOMAIN}`)}`, undefined]
  ])('refuses, before sending, a request about %s', (_, path, body) => {
    expect(() => addresses.assertOwn(path, body)).toThrow(ForeignAddressError)
  })
})

describe('redaction of what Mailchimp sends that the sandbox does not', () => {
  const token = '0123456789abcdef0123456789abcdef-us6'
  const secrets: Secrets = {
    token,
    domain: 'acme.dev',
    runId: 'cafe0005',
    audienceId: '57afe96172',
    dataCenter: 'us6',
    addresses: ['mc-probe-cafe0005-tagged@acme.dev']
  }
  const hash = subscriberHash('mc-probe-cafe0005-tagged@acme.dev')
  const placeholderHash = subscriberHash(`mc-probe-${PLACEHOLDERS.runId}-tagged@${PLACEHOLDERS.domain}`)

  it('keeps only the data center of the OAuth metadata, and blanks personal member fields and account hosts', () => {
    const [metadata, member] = redactExchanges(
      [
        {
          step: 'connect: data center',
          request: { origin: 'login', method: 'GET', path: '/oauth2/metadata', query: {} },
          response: {
            status: 200,
            body: {
              dc: 'us6',
              accountname: 'Acme',
              login: { email: 'owner@acme.dev' },
              api_endpoint: 'https://us6.api.mailchimp.com'
            }
          }
        },
        {
          step: 'archived-tag: contact afterwards',
          request: { origin: 'api', method: 'GET', path: `/3.0/lists/57afe96172/members/${hash}`, query: {} },
          response: {
            status: 200,
            body: {
              id: hash,
              email_address: 'MC-Probe-cafe0005-tagged@ACME.dev',
              unique_email_id: 'a1b2c3d4e5',
              contact_id: 'f00ba7',
              web_id: 123456,
              ip_signup: '203.0.113.9',
              location: { latitude: 48.85, longitude: 2.35, country_code: 'FR', timezone: 'Europe/Paris' },
              tags: [{ id: 9, name: 'mailchimp-cohort probe cafe0005' }],
              _links: [{ href: `https://us6.api.mailchimp.com/3.0/lists/57afe96172/members/${hash}` }]
            }
          }
        }
      ],
      secrets
    )
    expect(metadata.response).toEqual({ status: 200, body: { dc: 'us1' } })
    expect(member.request.path).toBe(`/3.0/lists/a0b1c2d3e4/members/${placeholderHash}`)
    expect('status' in member.response && member.response.body).toEqual({
      id: placeholderHash,
      email_address: 'MC-Probe-00000000-tagged@probe-domain.invalid',
      unique_email_id: 'redacted',
      contact_id: 'redacted',
      web_id: 0,
      ip_signup: '',
      location: { latitude: 0, longitude: 0, country_code: '', timezone: '' },
      tags: [{ id: 9, name: 'mailchimp-cohort probe 00000000' }],
      _links: [{ href: `https://us1.api.mailchimp.com/3.0/lists/a0b1c2d3e4/members/${placeholderHash}` }]
    })
    expect(() => assertRedacted(JSON.stringify([metadata, member]), secrets)).not.toThrow()
  })

  it('refuses to write a recording that still holds a secret', () => {
    expect(() => assertRedacted(`{"note":"key ${token}"}`, secrets)).toThrow(
      /still holds the token; nothing was written/
    )
    expect(() => assertRedacted('{"list_id":"57afe96172"}', secrets)).toThrow(/the audience ID/)
  })
})

describe('clean-up after a failure or an interrupt', () => {
  it('stops at a failed step, says so, removes what it created and exits 1', async () => {
    const before = state()
    sandbox.inject({ kind: 500, method: 'POST', path: /\/segments\/\d+$/ })
    const { code, stdout } = await probe(inSandbox())

    expect(code).toBe(1)
    expect(stdout).toMatch(
      /The scenario stopped: already-tagged: first add: Mailchimp answered HTTP 500 InternalServerError/
    )
    expect(stdout).toContain('checked: nothing the probe created remains')
    expect(state()).toEqual(before)
  })

  it('writes no recording of a run that did not complete', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'probe-record-'))
    sandbox.inject({ kind: 503, method: 'POST', path: /\/segments\/\d+$/ })
    const { code, stdout } = await probe(inSandbox('--record', dir))
    expect(code).toBe(1)
    expect(stdout).toContain('Not recorded: only a complete run makes a recording.')
    expect(readdirSync(dir)).toEqual([])
  })

  it('stops when interrupted, removes what it created, and exits 130', async () => {
    const before = state()
    const interrupt = new AbortController()
    sandbox.setLatency(20)
    const running = probe(inSandbox(), { stopProbe: interrupt.signal })
    await until(() => runContacts().some((c) => c.status === 'archived'))
    interrupt.abort()
    const { code, stdout, stderr } = await running

    expect(code).toBe(130)
    expect(stderr).toContain('Interrupted: removing what the probe created')
    expect(stdout).toMatch(/The scenario was interrupted after [0-7] of 8 questions\./)
    expect(stdout).toContain('checked: nothing the probe created remains')
    expect(state()).toEqual(before)
  }, 20_000)

  it('cleans up on a real SIGINT to the command, and exits 130', async () => {
    const before = state()
    sandbox.setLatency(150)
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'src/cli/mailchimp-cohort.ts',
        'probe',
        '--sandbox',
        sandbox.url,
        '--domain',
        DOMAIN,
        '--audience',
        audienceId
      ],
      { cwd: root, env: { PATH: process.env.PATH ?? '' } }
    )
    let stdout = ''
    child.stdout.on('data', (chunk) => (stdout += chunk))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
    await until(() => stdout.includes('Set-up:'), 20_000)
    child.kill('SIGINT')

    expect(await exited).toBe(130)
    expect(stdout).toContain('checked: nothing the probe created remains')
    expect(state()).toEqual(before)
  }, 40_000)
})
