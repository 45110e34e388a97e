import { spawnSync } from 'child_process'
import { mailchimpCohorts } from '../src'
import { syncCohortRows } from '../src/cli/cohort-sync'
import { run } from '../src/cli/program'
import type { Io } from '../src/cli/program'
import type { MailchimpSandbox } from '../src/sandbox'
import { file, ROOT, scratch, withFreshSandbox } from './cli-helpers'

// `mailchimp-cohort sync`, run in-process against a sandbox of the test's own, and once as a real process.

let sandbox: MailchimpSandbox
let audienceId: string

/** Whether the sandbox saw only reads: nothing was written to the audience. */
const onlyReads = () => Object.keys(sandbox.counters.byRoute).every((route) => route.startsWith('GET '))
/** The audience's contacts and tags, to compare before and after a run that must change nothing. */
const state = () => JSON.stringify([sandbox.contacts(audienceId), sandbox.tags(audienceId)])

async function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = ''
  let stderr = ''
  const io: Io = {
    env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    sandbox: { endpoints: sandbox.endpoints, url: sandbox.url, token: 'sandbox-token' },
    retryDelayMs: 10
  }
  // Without credentials, the command syncs into a sandbox only when asked: the test's own, through the hook.
  const credentials = env.MAILCHIMP_ACCESS_TOKEN !== undefined || env.MAILCHIMP_API_KEY !== undefined
  const code = await run(['sync', '--audience', audienceId, ...(credentials ? [] : ['--sandbox']), ...args], io)
  return { code, stdout, stderr }
}

/** `sync` into the cohort "Power users", the cohort nearly every test uses. */
const powerUsers = (args: string[], env: NodeJS.ProcessEnv = {}) => cli([...args, '--cohort', 'Power users'], env)

const members = (name = 'Power users') =>
  sandbox.tags(audienceId).some((t) => t.name === name) ? sandbox.tagMembers(audienceId, name).sort() : []

withFreshSandbox((fresh, id) => {
  sandbox = fresh
  audienceId = id
})

const cohortCsv =
  'email,plan\nada@mail.sample-shop.dev,pro\nbob@mail.sample-shop.dev,team\ncy@mail.sample-shop.dev,pro\n'

describe('a real run against the sandbox', () => {
  it('syncs a CSV into the tag and exits 0 when every row landed', async () => {
    sandbox.addContacts(audienceId, [{ email_address: 'bob@mail.sample-shop.dev', status: 'unsubscribed' }])
    const { code, stdout, stderr } = await powerUsers(['--file', file('cohort.csv', cohortCsv)])
    expect(code).toBe(0)
    expect(members()).toEqual(['ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev', 'cy@mail.sample-shop.dev'])
    expect(sandbox.contact(audienceId, 'bob@mail.sample-shop.dev')?.status).toBe('unsubscribed')
    expect(stderr).toMatch(/local sandbox at http:\/\/127\.0\.0\.1:\d+, not Mailchimp/)
    expect(stdout).toMatch(/Cohort "Power users" → audience \w+ in the local sandbox/)
    expect(stdout).toMatch(/2 {2}200 created_and_added/)
    expect(stdout).toMatch(/1 {2}200 added/)
  })

  it('removes the tag from leavers given by --remove-file and by a membership column', async () => {
    await powerUsers(['--file', file('cohort.csv', cohortCsv)])
    const byFile = await powerUsers([
      '--file',
      file('joiners.csv', 'email\ndee@mail.sample-shop.dev\n'),
      '--remove-file',
      file('leavers.csv', 'email\nADA@mail.sample-shop.dev\n')
    ])
    expect(byFile.code).toBe(0)
    expect(members()).toEqual(['bob@mail.sample-shop.dev', 'cy@mail.sample-shop.dev', 'dee@mail.sample-shop.dev'])

    const byColumn = await powerUsers([
      '--file',
      file('delta.csv', 'email,member\nbob@mail.sample-shop.dev,false\ned@mail.sample-shop.dev,yes\n'),
      '--membership-column',
      'member'
    ])
    expect(byColumn.code).toBe(0)
    expect(members()).toEqual(['cy@mail.sample-shop.dev', 'dee@mail.sample-shop.dev', 'ed@mail.sample-shop.dev'])
    expect(sandbox.contact(audienceId, 'ada@mail.sample-shop.dev')).toBeDefined() // untagged, not deleted
  })

  it('reads JSON Lines with --email-column and exits 1, listing the rows that failed', async () => {
    const jsonl = [
      { mail: 'ada@mail.sample-shop.dev' },
      { mail: 'not-an-email' },
      { mail: 'fake@example.com' },
      { mail: 42 },
      { other: 'x' }
    ]
      .map((row) => JSON.stringify(row))
      .join('\n')
    const { code, stdout } = await powerUsers([
      '--file',
      file('cohort.jsonl', jsonl),
      '--email-column',
      'mail',
      '--json'
    ])
    expect(code).toBe(1)
    const report = JSON.parse(stdout)
    expect(report).toMatchObject({ target: 'sandbox', dry_run: false, rows: 5, contacts: 2, exit_code: 1 })
    expect(report.failed.map((f: { source: string; status: number }) => [f.source, f.status])).toEqual([
      ['cohort.jsonl:2', 400],
      ['cohort.jsonl:3', 400],
      ['cohort.jsonl:4', 400],
      ['cohort.jsonl:5', 400]
    ])
    expect(report.failed[1].message).toMatch(/looks fake or invalid/)
    expect(members()).toEqual(['ada@mail.sample-shop.dev'])
  })

  it('re-sends rows whose request failed for a moment, and they land', async () => {
    sandbox.inject({ kind: 503, method: 'POST', path: `/3.0/lists/${audienceId}`, times: 1 })
    const { code, stdout } = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--json'])
    expect(code).toBe(0)
    expect(JSON.parse(stdout).failed).toEqual([])
    expect(members()).toHaveLength(3)
    expect(sandbox.counters.byStatus['503']).toBe(1)
    // The destination does not retry on its own: the second batch subscribe is the command sending the rows again.
    expect(sandbox.counters.byRoute['POST /3.0/lists/{list_id}']).toBe(2)
  })

  it('keeps contacts out of the audience with --status-if-new skip', async () => {
    sandbox.addContacts(audienceId, [{ email_address: 'ada@mail.sample-shop.dev', status: 'subscribed' }])
    const { code, stdout } = await powerUsers([
      '--file',
      file('cohort.csv', cohortCsv),
      '--status-if-new',
      'skip',
      '--json'
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout).failed.map((f: { email: string }) => f.email)).toEqual([
      'bob@mail.sample-shop.dev',
      'cy@mail.sample-shop.dev'
    ])
    expect(sandbox.contacts(audienceId)).toHaveLength(1)
  })
})

describe('--mirror: a full resync', () => {
  const tagged = (...emails: string[]) =>
    sandbox.addContacts(
      audienceId,
      emails.map((email) => ({ email_address: email, status: 'subscribed' as const, tags: ['Power users'] }))
    )

  it('also untags contacts who carry the tag but are not in the file, and keeps them in the audience', async () => {
    // Mailchimp holds one spelling, the file another: the same contact, so not a leaver.
    tagged('ADA@Mail.Sample-Shop.dev', 'bob@mail.sample-shop.dev', 'byhand@mail.sample-shop.dev')
    // Mailchimp lists unsubscribed contacts among a tag's members only when asked to: the mirror asks.
    sandbox.addContacts(audienceId, [
      { email_address: 'unsub@mail.sample-shop.dev', status: 'unsubscribed', tags: ['Power users'] }
    ])
    const { code, stdout } = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror', '--json'])
    expect(code).toBe(0)
    expect(JSON.parse(stdout).mirror).toEqual({
      tag_members: 4,
      to_untag: 2,
      examples: ['byhand@mail.sample-shop.dev', 'unsub@mail.sample-shop.dev'],
      refused: null
    })
    expect(members()).toEqual(['ADA@Mail.Sample-Shop.dev', 'bob@mail.sample-shop.dev', 'cy@mail.sample-shop.dev'])
    expect(sandbox.contact(audienceId, 'byhand@mail.sample-shop.dev')?.status).toBe('subscribed')
    expect(sandbox.contact(audienceId, 'unsub@mail.sample-shop.dev')).toMatchObject({
      status: 'unsubscribed',
      tags: []
    })
  })

  it('reads a tag of several pages', async () => {
    const many = Array.from({ length: 2500 }, (_, n) => `p${n}@mail.sample-shop.dev`)
    tagged(...many)
    const csv = `email\n${many.slice(10).join('\n')}\n`
    const { code, stdout } = await powerUsers(['--file', file('big.csv', csv), '--mirror', '--json'])
    expect(code).toBe(0)
    expect(JSON.parse(stdout).mirror).toMatchObject({ tag_members: 2500, to_untag: 10 })
    expect(sandbox.counters.byRoute['GET /3.0/lists/{list_id}/segments/{segment_id}/members']).toBe(3)
    expect(members()).toHaveLength(2490)
  })

  it('shows the diff in a dry run and changes nothing', async () => {
    tagged('ada@mail.sample-shop.dev', 'byhand@mail.sample-shop.dev')
    const before = state()
    const { code, stdout } = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror', '--dry-run'])
    expect(code).toBe(0)
    expect(stdout).toMatch(
      /Mirror: the tag had 2 contacts; 1 of them is not in the file and would lose it \(e\.g\. byhand@mail\.sample-shop\.dev\)/
    )
    expect(state()).toBe(before)
    expect(onlyReads()).toBe(true)
  })

  it('refuses to untag more than half the tag unless told to, and nothing is sent', async () => {
    tagged('ada@mail.sample-shop.dev', 'w@mail.sample-shop.dev', 'x@mail.sample-shop.dev', 'y@mail.sample-shop.dev')
    const refused = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      /--mirror would remove the tag from 3 of its 4 contacts \(75%\), more than the 50% allowed/
    )
    expect(members()).toHaveLength(4)
    expect(onlyReads()).toBe(true)

    const dryRun = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror', '--dry-run'])
    expect(dryRun.code).toBe(2)
    expect(dryRun.stdout).toMatch(/Refused: --mirror would remove the tag from 3 of its 4 contacts/)

    const raised = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror', '--max-untag', '80'])
    expect(raised.code).toBe(0)
    expect(members()).toEqual(['ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev', 'cy@mail.sample-shop.dev'])
  })

  it('refuses when a row of the file has no usable address, since it may stand for someone who carries the tag', async () => {
    tagged('ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev')
    const csv = 'email\n ADA@mail.sample-shop.dev \nbob at mail.sample-shop.dev\n'
    const { code, stderr } = await powerUsers(['--file', file('typo.csv', csv), '--mirror'])
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /1 row of the file has no usable email address \(e\.g\. typo\.csv:3\), so --mirror cannot tell whom it meant.*--ignore-bad-rows/
    )
    expect(members()).toEqual(['ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev'])
    // --force lifts the share limit only; bad rows need their own say-so.
    // The file-side spelling (case and spaces) is the same contact as Mailchimp's: only the typo is in question.
    const forcedOnly = await powerUsers(['--file', file('typo.csv', csv), '--mirror', '--force'])
    expect(forcedOnly.code).toBe(2)
    const forced = await powerUsers(['--file', file('typo.csv', csv), '--mirror', '--ignore-bad-rows', '--json'])
    expect(forced.code).toBe(1)
    expect(JSON.parse(forced.stdout).mirror).toMatchObject({
      tag_members: 2,
      to_untag: 1,
      examples: ['bob@mail.sample-shop.dev']
    })
    expect(members()).toEqual(['ada@mail.sample-shop.dev'])
  })

  it('goes ahead with --force', async () => {
    tagged('w@mail.sample-shop.dev', 'x@mail.sample-shop.dev')
    const { code } = await powerUsers(['--file', file('cohort.csv', cohortCsv), '--mirror', '--force'])
    expect(code).toBe(0)
    expect(members()).toEqual(['ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev', 'cy@mail.sample-shop.dev'])
  })

  it('cannot be combined with --remove-file', async () => {
    const { code, stderr } = await powerUsers([
      '--file',
      file('cohort.csv', cohortCsv),
      '--remove-file',
      file('leavers.csv', 'email\nzed@mail.sample-shop.dev\n'),
      '--mirror'
    ])
    expect(code).toBe(2)
    expect(stderr).toMatch(/--mirror takes the whole cohort from --file/)
    expect(sandbox.counters.total).toBe(0)
  })
})

describe('--merge-field', () => {
  const csv = 'email,first\nada@mail.sample-shop.dev,Ada\nbob@mail.sample-shop.dev,Bob\n'

  it('writes a column into a merge field of new and existing contacts, leaving statuses alone', async () => {
    sandbox.addContacts(audienceId, [{ email_address: 'bob@mail.sample-shop.dev', status: 'unsubscribed' }])
    const { code } = await powerUsers(['--file', file('names.csv', csv), '--merge-field', 'fname=first'])
    expect(code).toBe(0)
    expect(sandbox.contact(audienceId, 'ada@mail.sample-shop.dev')?.merge_fields).toMatchObject({ FNAME: 'Ada' })
    expect(sandbox.contact(audienceId, 'bob@mail.sample-shop.dev')).toMatchObject({
      status: 'unsubscribed',
      merge_fields: { FNAME: 'Bob' }
    })
    expect(members()).toEqual(['ada@mail.sample-shop.dev', 'bob@mail.sample-shop.dev'])
  })

  it('refuses a merge tag the audience does not have, before sending anything', async () => {
    const { code, stderr } = await powerUsers(['--file', file('names.csv', csv), '--merge-field', 'NICK=first'])
    expect(code).toBe(2)
    expect(stderr).toMatch(
      /--merge-field: audience \w+ has no merge field NICK \(it has FNAME, LNAME, ADDRESS, PHONE, BIRTHDAY\)/
    )
    expect(onlyReads()).toBe(true)
  })

  it('refuses to combine with --status-if-new skip, which must create nobody', async () => {
    const { code, stderr } = await powerUsers([
      '--file',
      file('names.csv', csv),
      '--merge-field',
      'FNAME=first',
      '--status-if-new',
      'skip'
    ])
    expect(code).toBe(2)
    expect(stderr).toMatch(/--merge-field cannot be combined with --status-if-new skip/)
    expect(sandbox.counters.total).toBe(0)
  })

  // 1,200 upserts and their batches: declared time for a busy 2-core machine.
  const MANY_UPSERTS_MS = 60_000
  it(
    'keeps under Mailchimp’s 10 connections while updating many existing contacts, one upsert each',
    async () => {
      sandbox.setLatency(20)
      const people = Array.from({ length: 1200 }, (_, n) => `p${n}@mail.sample-shop.dev`)
      sandbox.addContacts(
        audienceId,
        people.map((email) => ({ email_address: email, status: 'subscribed' as const }))
      )
      const rows = people.map((email, n) => `${email},Name${n}`).join('\n')
      const { code } = await powerUsers([
        '--file',
        file('many.csv', `email,first\n${rows}\n`),
        '--merge-field',
        'FNAME=first'
      ])
      expect(code).toBe(0)
      expect(sandbox.counters.byRoute['PUT /3.0/lists/{list_id}/members/{subscriber_hash}']).toBe(1200)
      expect(sandbox.counters.throttled).toBe(0)
      expect(sandbox.counters.peakInFlight).toBeGreaterThan(4) // batches side by side…
      expect(sandbox.counters.peakInFlight).toBeLessThanOrEqual(10) // …within the process's share of the account
      expect(sandbox.contact(audienceId, people[1199])?.merge_fields).toMatchObject({ FNAME: 'Name1199' })
    },
    MANY_UPSERTS_MS
  )

  it('refuses a column that is not in the file', async () => {
    const { code, stderr } = await powerUsers(['--file', file('names.csv', csv), '--merge-field', 'LNAME=last'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/names\.csv has no column "last".*--merge-field LNAME=/)
    expect(sandbox.counters.total).toBe(0)
  })
})

describe('the sync engine', () => {
  it('gives every row an outcome, after retries, when a whole batch throws', async () => {
    const definition = mailchimpCohorts({ endpoints: sandbox.endpoints })
    let calls = 0
    definition.actions.syncCohort.performBatch = async () => {
      calls++
      throw new Error('boom')
    }
    const summary = await syncCohortRows({
      definition,
      token: 'sandbox-token',
      audienceId,
      cohort: 'Power users',
      emailColumn: 'email',
      rows: [
        { source: 'f.csv:2', email: 'ada@mail.sample-shop.dev', inCohort: true },
        { source: 'f.csv:3', email: 'bob@mail.sample-shop.dev', inCohort: false }
      ],
      statusIfNew: 'subscribed',
      retryDelayMs: 1
    })
    expect(calls).toBe(4) // the first try and three retries
    expect(
      summary.outcomes.map(({ source, status, attempts, message }) => ({ source, status, attempts, message }))
    ).toEqual([
      { source: 'f.csv:2', status: 500, attempts: 4, message: 'The batch failed: boom' },
      { source: 'f.csv:3', status: 500, attempts: 4, message: 'The batch failed: boom' }
    ])
  })
})

describe('a dry run', () => {
  it('prints the plan and counts and changes nothing', async () => {
    sandbox.addContacts(audienceId, [{ email_address: 'ada@mail.sample-shop.dev', status: 'subscribed' }])
    const before = state()
    const csv = `${cohortCsv}ADA@mail.sample-shop.dev,pro\nnope,pro\n`
    const { code, stdout } = await powerUsers([
      '--file',
      file('cohort.csv', csv),
      '--remove-file',
      file('leavers.csv', 'email\nzed@mail.sample-shop.dev\n'),
      '--dry-run',
      '--json'
    ])
    expect(state()).toBe(before)
    // Only the read-only connection check reached the sandbox.
    expect(onlyReads()).toBe(true)
    expect(code).toBe(1) // one row would be refused
    expect(JSON.parse(stdout)).toMatchObject({
      dry_run: true,
      rows: 6,
      contacts: 4,
      joiners: 3,
      leavers: 1,
      duplicates: 1,
      planned_requests: { batch_subscribe: 1, tag_updates: 1 },
      failed: [{ source: 'cohort.csv:6', email: 'nope', status: 400 }]
    })
  })
})

describe('bad input: a clear error, exit 2, and nothing sent', () => {
  it.each([
    ['a missing file', () => scratch('nowhere.csv'), /Cannot read .*nowhere\.csv: ENOENT/],
    ['an empty file', () => file('empty.csv', ''), /empty\.csv is empty/],
    ['a header without rows', () => file('header.csv', 'email\n'), /header\.csv has a header row but no contacts/],
    [
      'a binary file',
      () => file('sheet.xlsx', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0xff])),
      /not a UTF-8 text file/
    ],
    [
      'a file without the email column',
      () => file('cols.csv', 'mail,plan\nada@mail.sample-shop.dev,pro\n'),
      /cols\.csv has no column "email" \(it has: "mail", "plan"\)\. Name the right one with --email-column/
    ],
    ['a broken JSON line', () => file('bad.jsonl', '{"email":"a@b.dev"}\n{oops\n'), /bad\.jsonl:2 is not valid JSON/],
    [
      'unbalanced CSV quotes',
      () => file('quotes.csv', 'email\n"ada@mail.sample-shop.dev\n'),
      /quotes\.csv is not valid CSV/
    ]
  ])('%s', async (_name, path, message) => {
    const { code, stderr } = await powerUsers(['--file', path()])
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(sandbox.counters.total).toBe(0)
  })

  it('refuses a membership column that is not there', async () => {
    const { code, stderr } = await powerUsers([
      '--file',
      file('cohort.csv', cohortCsv),
      '--membership-column',
      'in_cohort'
    ])
    expect(code).toBe(2)
    expect(stderr).toMatch(/no column "in_cohort".*--membership-column/)
    expect(sandbox.counters.total).toBe(0)
  })

  it.each([
    ['no --cohort', ['--file', 'x.csv'], /required option '--cohort <name>' not specified/],
    [
      'an unknown status',
      ['--file', 'x.csv', '--cohort', 'C', '--status-if-new', 'maybe'],
      /argument 'maybe' is invalid/
    ],
    ['an unknown option', ['--file', 'x.csv', '--cohort', 'C', '--colour'], /unknown option '--colour'/]
  ])('exits 2 on usage errors: %s', async (_name, args, message) => {
    const { code, stderr } = await cli(args)
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
  })

  it.each([
    ['both credentials', { MAILCHIMP_ACCESS_TOKEN: 't', MAILCHIMP_API_KEY: 'abc-us6' }, /Both .* are set/],
    ['an API key without its data center', { MAILCHIMP_API_KEY: '0123456789abcdef' }, /should end with its data center/]
  ])('exits 2 on configuration errors: %s', async (_name, env, message) => {
    const { code, stderr } = await powerUsers(['--file', file('cohort.csv', cohortCsv)], env)
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
  })

  it('needs --audience with real credentials', async () => {
    let stderr = ''
    const code = await run(['sync', '--file', file('cohort.csv', cohortCsv), '--cohort', 'C'], {
      env: { MAILCHIMP_ACCESS_TOKEN: 'token' },
      stdout: () => undefined,
      stderr: (text) => (stderr += text)
    })
    expect(code).toBe(2)
    expect(stderr).toMatch(/--audience is required/)
  })

  it('exits 2 when the sandbox refuses the token, with the reason', async () => {
    sandbox.revokeToken('sandbox-token')
    const { code, stderr } = await powerUsers(['--file', file('cohort.csv', cohortCsv)])
    expect(code).toBe(2)
    expect(stderr).toMatch(/Cannot use Mailchimp: .*Reconnect/)
  })

  it.each([[[]], [['--dry-run']]])(
    'exits 2 for a cohort name of 88 characters, before any request %j',
    async (extra) => {
      const { code, stderr } = await cli([
        '--file',
        file('cohort.csv', cohortCsv),
        '--cohort',
        'x'.repeat(88),
        ...extra
      ])
      expect(code).toBe(2)
      expect(stderr).toMatch(/--cohort: .*fewer than 88 characters/)
      expect(sandbox.counters.total).toBe(0)
      expect(sandbox.tags(audienceId)).toEqual([])
    }
  )

  it('exits 1, not 2, when Mailchimp fails for a moment before anything is sent', async () => {
    sandbox.inject({ kind: 503, path: '/oauth2/metadata' })
    const { code, stderr } = await powerUsers(['--file', file('cohort.csv', cohortCsv)])
    expect(code).toBe(1)
    expect(stderr).toMatch(/Cannot use Mailchimp: .*Nothing was sent; try again later\./)
    expect(stderr).not.toMatch(/Credentials are invalid/)
    expect(sandbox.contacts(audienceId)).toEqual([])
  })
})

describe('the installed command', () => {
  it('runs as a process: without credentials it syncs into its own sandbox and says so', () => {
    const path = file('cohort.csv', cohortCsv)
    const { MAILCHIMP_ACCESS_TOKEN: _token, MAILCHIMP_API_KEY: _key, ...env } = process.env
    const result = spawnSync(
      process.execPath,
      [
        require.resolve('tsx/cli'),
        'src/cli/mailchimp-cohort.ts',
        'sync',
        '--sandbox',
        '--file',
        path,
        '--cohort',
        'Power users',
        '--json'
      ],
      { cwd: ROOT, env, encoding: 'utf8', timeout: 60_000 }
    )
    expect(result.stderr).toMatch(/syncing into a local sandbox/)
    expect(result.status).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      target: 'sandbox',
      rows: 3,
      outcomes: { '200 created_and_added': 3 }
    })
  })
})

describe('the main job (npm start)', () => {
  it('syncs the bundled cohort and its delta into a sandbox, and its checks of the sandbox’s state pass', () => {
    const result = spawnSync(process.execPath, [require.resolve('tsx/cli'), 'src/cli/start.ts'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 60_000
    })
    expect(result.stderr).toBe('')
    expect(result.status).toBe(0)
    expect(result.stdout).toMatch(/1\. First sync: 4,995 rows/)
    expect(result.stdout).toMatch(/2\. Scheduled delta: 702 rows/)
    expect(result.stdout).toMatch(/exactly the contacts whose outcomes said so/)
    expect(result.stdout).toMatch(/statuses of the 1,015 contacts that existed before: all unchanged/)
    expect(result.stdout).not.toMatch(/PROBLEM/)
    expect(result.stdout).toMatch(/Mailchimp requests: \d+ \(peak \d+ in flight, 0 throttled\)/)
  }, 60_000)
})
