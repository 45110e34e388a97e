import { readFileSync } from 'fs'
import { join } from 'path'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'
import { ROOT, cli, file, withFreshSandbox } from './cli-helpers'

// The command refuses what it cannot do as asked (exit 2, nothing sent), and speaks in its own words.

let sandbox: MailchimpSandbox
let audienceId: string

withFreshSandbox((fresh, id) => {
  sandbox = fresh
  audienceId = id
})

const csv = 'email\nada@mail.sample-shop.dev\nbob@mail.sample-shop.dev\n'
/** `sync` into the test's sandbox through `--sandbox`. */
const sync = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  cli(['sync', '--sandbox', '--audience', audienceId, ...args], { env, sandbox })

describe('the sandbox only when asked', () => {
  it('refuses without credentials and without --sandbox, naming both variables and --sandbox', async () => {
    const { code, stderr } = await cli(['sync', '--file', file('c.csv', csv), '--cohort', 'C'], { sandbox })
    expect(code).toBe(2)
    expect(stderr).toMatch(/MAILCHIMP_ACCESS_TOKEN.*MAILCHIMP_API_KEY.*--sandbox/)
    expect(sandbox.counters.total).toBe(0)
  })

  it.each([
    ['an empty token', { MAILCHIMP_ACCESS_TOKEN: '' }, /MAILCHIMP_ACCESS_TOKEN is set but empty/],
    ['a blank API key', { MAILCHIMP_API_KEY: '  ' }, /MAILCHIMP_API_KEY is set but empty/]
  ])('treats %s as a mistake, not as no credentials', async (_name, env, message) => {
    const args = ['sync', '--file', file('c.csv', csv), '--cohort', 'C', '--audience', '57afe96172']
    const { code, stderr } = await cli(args, { env, sandbox })
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(sandbox.counters.total).toBe(0)
  })

  it('uses the sandbox with --sandbox and says so, leaving credentials in the environment unused', async () => {
    const env = { MAILCHIMP_ACCESS_TOKEN: 'real-token-1234' }
    const { code, stderr } = await sync(['--file', file('c.csv', csv), '--cohort', 'C'], env)
    expect(code).toBe(0)
    expect(stderr).toMatch(/--sandbox: syncing into a local sandbox at http:\/\/127\.0\.0\.1:\d+, not Mailchimp/)
    expect(stderr).toMatch(/MAILCHIMP_ACCESS_TOKEN is not used/)
    expect(sandbox.tagMembers(audienceId, 'C')).toHaveLength(2)
  })

  it.each([
    ['another machine', 'http://mail.sample-shop.dev:8080'],
    ['https', 'https://127.0.0.1:8080'],
    ['a path', 'http://127.0.0.1:8080/3.0'],
    ['credentials in the URL', 'http://user:pw@127.0.0.1:8080'],
    ['not a URL', '8080']
  ])('takes only a sandbox on this machine for --sandbox <url>: not %s', async (_name, url) => {
    const { code, stderr } = await cli(['sync', '--file', file('c.csv', csv), '--cohort', 'C', '--sandbox', url])
    expect(code).toBe(2)
    expect(stderr).toMatch(/--sandbox .*give the address of a sandbox on this machine/)
  })

  it('says when no sandbox answers at the URL', async () => {
    const closed = await startSandbox()
    const url = closed.url
    await closed.close()
    const { code, stderr } = await cli(['sync', '--file', file('c.csv', csv), '--cohort', 'C', '--sandbox', url])
    expect(code).toBe(2)
    expect(stderr).toMatch(/Cannot use the sandbox at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/)
  })
})

describe('credentials are checked before any request', () => {
  it.each([
    ['a token with a line break', { MAILCHIMP_ACCESS_TOKEN: 'abc\ndef' }, /line break at character 4/],
    ['a token with an inner space', { MAILCHIMP_ACCESS_TOKEN: 'abc def' }, /a space at character 4/],
    ['an API key of the wrong shape', { MAILCHIMP_API_KEY: 'abc-us6' }, /does not look like a Mailchimp API key/]
  ])('%s: exit 2, saying what to fix', async (_name, env, message) => {
    const args = ['sync', '--file', file('c.csv', csv), '--cohort', 'C', '--audience', audienceId]
    const { code, stderr } = await cli(args, { env, sandbox })
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(stderr).not.toMatch(/try again later/)
    expect(sandbox.counters.total).toBe(0)
  })
})

describe('strict options', () => {
  const base = () => ['--file', file('c.csv', csv), '--cohort', 'C']

  it.each([
    ['--force without --mirror', ['--force'], /--force means something only with --mirror/],
    ['--max-untag without --mirror', ['--max-untag', '10'], /--max-untag means something only with --mirror/],
    [
      'both mirror-only options without --mirror',
      ['--ignore-bad-rows', '--force'],
      /--force, --ignore-bad-rows mean something only with --mirror/
    ],
    ['an empty --max-untag', ['--mirror', '--max-untag', ''], /whole number from 0 to 100/],
    ['a hexadecimal --max-untag', ['--mirror', '--max-untag', '0x10'], /whole number from 0 to 100/],
    ['an exponent', ['--mirror', '--max-untag', '1e1'], /whole number from 0 to 100/],
    ['a fraction', ['--mirror', '--max-untag', '12.5'], /whole number from 0 to 100/],
    ['a negative number', ['--mirror', '--max-untag=-1'], /whole number from 0 to 100/],
    ['over 100', ['--mirror', '--max-untag', '101'], /whole number from 0 to 100/],
    ['--cohort twice', ['--cohort', 'D'], /--cohort is given twice/],
    ['--email-column twice', ['--email-column', 'a', '--email-column', 'b'], /--email-column is given twice/],
    ['--audience twice', ['--audience', 'abc'], /--audience is given twice/],
    ['a merge field twice', ['--merge-field', 'FNAME=a', '--merge-field', 'fname=b'], /FNAME is given twice/],
    [
      '--membership-column with --remove-file',
      ['--membership-column', 'm', '--remove-file', file('r.csv', 'email\nzed@mail.sample-shop.dev\n')],
      /--membership-column and --remove-file are two ways to name leavers: use one/
    ]
  ])('refuses %s: exit 2, nothing sent', async (_name, extra, message) => {
    const { code, stderr } = await sync([...base(), ...extra])
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(sandbox.counters.total).toBe(0)
  })

  it('refuses a header that names a column twice', async () => {
    const { code, stderr } = await sync(['--file', file('dup.csv', 'email,email\na@b.dev,c@d.dev\n'), '--cohort', 'C'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/dup\.csv has the column "email" twice \(columns 1 and 2\)/)
    expect(sandbox.counters.total).toBe(0)
  })

  it('refuses an address that one file adds and the other removes, listing the first few, and sends nothing', async () => {
    const people = Array.from({ length: 8 }, (_, i) => `p${i}@mail.sample-shop.dev`)
    const { code, stderr } = await sync([
      '--file',
      file('join.csv', `email\n${people.join('\n')}\nkeep@mail.sample-shop.dev\n`),
      '--remove-file',
      file('leave.csv', `email\nother@mail.sample-shop.dev\n${people.map((p) => p.toUpperCase()).join('\n')}\n`),
      '--cohort',
      'C'
    ])
    expect(code).toBe(2)
    expect(stderr).toMatch(/8 addresses are both in --file \(joining\) and in --remove-file \(leaving\)/)
    expect(stderr).toMatch(/"P0@MAIL\.SAMPLE-SHOP\.DEV" \(leave\.csv:3, also in join\.csv\)/)
    expect(stderr).toMatch(
      /"P4@MAIL\.SAMPLE-SHOP\.DEV" \(leave\.csv:7, also in join\.csv\), and 3 more\. Nothing was sent/
    )
    expect(sandbox.counters.total).toBe(0)
    expect(sandbox.contacts(audienceId)).toEqual([])
  })

  it('takes an address twice in one file with a membership column as a delta: the last row wins', async () => {
    const delta =
      'email,member\nada@mail.sample-shop.dev,true\nbob@mail.sample-shop.dev,true\nADA@mail.sample-shop.dev,false\n'
    const { code, stdout } = await sync([
      '--file',
      file('d.csv', delta),
      '--membership-column',
      'member',
      '--cohort',
      'C',
      '--json'
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ rows: 3, contacts: 2, joiners: 1, leavers: 1, duplicates: 1 })
    expect(sandbox.tagMembers(audienceId, 'C')).toEqual(['bob@mail.sample-shop.dev'])
  })
})

describe('help, version and errors a program can read', () => {
  it.each([[['help']], [['help', 'sync']], [['sync', '--help']], [['--help']]])(
    '%j exits 0 with help',
    async (args) => {
      const { code, stdout } = await cli(args)
      expect(code).toBe(0)
      expect(stdout).toMatch(/Usage: mailchimp-cohort/)
      if (args.includes('sync')) expect(stdout).toMatch(/--failed-rows <path>/)
    }
  )

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    const { code, stdout } = await cli(['--version'])
    expect(code).toBe(0)
    expect(stdout.trim()).toBe(version)
  })

  it('exits 2 without a command, showing the help', async () => {
    const { code, stderr } = await cli([])
    expect(code).toBe(2)
    expect(stderr).toMatch(/Usage: mailchimp-cohort/)
  })

  it.each([
    ['an unknown option', () => ['--file', file('c.csv', csv), '--colour'], /unknown option '--colour'/],
    ['a missing file', () => ['--file', join(ROOT, 'nowhere.csv')], /Cannot read .*nowhere\.csv: ENOENT/],
    ['an option given twice', () => ['--file', file('c.csv', csv), '--cohort', 'D'], /--cohort is given twice/]
  ])('prints %s as JSON on stdout with --json, and on stderr', async (_name, args, message) => {
    const { code, stdout, stderr } = await sync([...args(), '--cohort', 'C', '--json'])
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    const report = JSON.parse(stdout)
    expect(report).toEqual({ error: expect.stringMatching(message), exit_code: 2 })
    expect(sandbox.counters.total).toBe(0)
  })
})

describe('the command’s own words', () => {
  it('names --email-column, not the host’s Email Property setting, for a row without an address', async () => {
    const { code, stdout } = await sync([
      '--file',
      file('m.csv', 'mail,name\nada@mail.sample-shop.dev,Ada\n,Nobody\n'),
      '--email-column',
      'mail',
      '--cohort',
      'C',
      '--json'
    ])
    expect(code).toBe(1)
    const { failed } = JSON.parse(stdout)
    expect(failed).toEqual([
      {
        source: 'm.csv:3',
        email: '',
        status: 400,
        message:
          'No email address: column "mail" (--email-column) is missing or empty. Fill it in, or name another column with --email-column.'
      }
    ])
  })

  it('names --cohort for a cohort name too long, and --audience for an audience Mailchimp does not have', async () => {
    const long = await sync(['--file', file('c.csv', csv), '--cohort', 'x'.repeat(88)])
    expect(long.code).toBe(2)
    expect(long.stderr).toMatch(/--cohort: .*fewer than 88 characters.*Give a shorter --cohort\./)
    expect(long.stderr).not.toMatch(/Tag Name/)
    const unknown = await cli(
      ['sync', '--sandbox', '--audience', 'f00f00f00f', '--file', file('c.csv', csv), '--cohort', 'C'],
      {
        sandbox
      }
    )
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/Mailchimp has no audience "f00f00f00f" in this account\. Check --audience\./)
    expect(unknown.stderr).not.toMatch(/setting/)
  })

  it('names --status-if-new when skip leaves a contact untagged', async () => {
    const { code, stdout } = await sync([
      '--file',
      file('c.csv', csv),
      '--cohort',
      'C',
      '--status-if-new',
      'skip',
      '--json'
    ])
    expect(code).toBe(1)
    const messages: string[] = JSON.parse(stdout).failed.map((f: { message: string }) => f.message)
    expect(messages).toHaveLength(2)
    for (const message of messages) {
      expect(message).toMatch(/with --status-if-new skip .* choose another --status-if-new/)
      expect(message).not.toMatch(/Status for New Contacts/)
    }
  })

  it('refuses an audience ID that is not one before any request', async () => {
    const { code, stderr } = await cli(
      ['sync', '--sandbox', '--audience', '../x', '--file', file('c.csv', csv), '--cohort', 'C'],
      {
        sandbox
      }
    )
    expect(code).toBe(2)
    expect(stderr).toMatch(/--audience "\.\.\/x" is not an audience ID/)
    expect(sandbox.counters.total).toBe(0)
  })
})
