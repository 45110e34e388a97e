import { Writable } from 'stream'
import { AddressIndex, BYTES_PER_SLOT, membershipOf, ordinalOf } from '../src/cli/address-index'
import { rowsSource } from '../src/cli/cohort-file'
import type { CohortRow } from '../src/cli/cohort-file'
import { credentialsFrom } from '../src/cli/credentials'
import { UsageError } from '../src/cli/errors'
import { Interrupt } from '../src/cli/interrupt'
import { LISTED_FAILURES, OutcomeTally } from '../src/cli/outcomes'
import type { RowOutcome } from '../src/cli/outcomes'
import { Progress, timeLeft } from '../src/cli/progress'
import { formatReport } from '../src/cli/report'
import { batchesOf, decidingRows, indexRows, plannedRequests } from '../src/cli/row-plan'
import type { IndexedRow } from '../src/cli/row-plan'
import { inCommandWords } from '../src/cli/words'

// The parts the command is built from, each on its own.

const rules = { emailColumn: 'email', cohort: 'C', statusIfNew: 'subscribed' as const }
const row = (email: unknown, inCohort = true, line = 2): CohortRow => ({ source: `f.csv:${line}`, email, inCohort })

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const item of items) all.push(item)
  return all
}

async function* stream(count: number, inCohort: boolean): AsyncGenerator<IndexedRow> {
  for (let i = 0; i < count; i++) yield { row: row(`p${i}@mail.sample-shop.dev`, inCohort), ordinal: i, sourceIndex: 0 }
}

describe('the address index', () => {
  it('remembers the last row for an address and the row it replaced', () => {
    const index = new AddressIndex()
    expect(index.set('ada@mail.sample-shop.dev', 0, true)).toBe(0)
    const replaced = index.set('ada@mail.sample-shop.dev', 7, false)
    expect([ordinalOf(replaced), membershipOf(replaced)]).toEqual([0, true])
    const entry = index.get('ada@mail.sample-shop.dev')
    expect([ordinalOf(entry), membershipOf(entry)]).toEqual([7, false])
    expect(index.get('bob@mail.sample-shop.dev')).toBe(0)
    expect(index.size).toBe(1)
  })

  it('keeps every address as it grows, and takes 16 to 32 bytes an address', () => {
    const index = new AddressIndex(16)
    const n = 300_000
    for (let i = 0; i < n; i++) index.set(`user${i}@mail.sample-shop.dev`, i, i % 3 !== 0)
    expect(index.size).toBe(n)
    for (let i = 0; i < n; i += 997) {
      const entry = index.get(`user${i}@mail.sample-shop.dev`)
      expect([ordinalOf(entry), membershipOf(entry)]).toEqual([i, i % 3 !== 0])
    }
    expect([...index.entries()]).toHaveLength(n)
    expect(index.bytes / n).toBeGreaterThanOrEqual(16)
    expect(index.bytes / n).toBeLessThanOrEqual(32)
    expect(BYTES_PER_SLOT).toBe(12)
  })
})

describe('rows to plan', () => {
  it('indexes the last row for each address, counts folded and unusable rows, and gives the reason', async () => {
    const unusable: [string, string][] = []
    const files = await indexRows(
      [
        rowsSource('f.csv', [
          row('ada@mail.sample-shop.dev', true, 2),
          row('not-an-email', true, 3),
          row(' ADA@mail.sample-shop.dev ', false, 4),
          row(42, true, 5),
          row('bob@mail.sample-shop.dev', true, 6)
        ])
      ],
      rules,
      { unusable: ({ row: { source } }, reason) => unusable.push([source, reason]) }
    )
    expect(files).toMatchObject({ rows: 5, joiners: 1, leavers: 1, duplicates: 1, unusable: { rows: 2 } })
    expect(unusable).toEqual([
      ['f.csv:3', expect.stringMatching(/^Not an email address: .*needs a name, an @ and a domain/)],
      ['f.csv:5', expect.stringMatching(/holds a number, not an email address/)]
    ])
    const folded: [number, number][] = []
    const source = rowsSource('f.csv', [
      row('ada@mail.sample-shop.dev', true, 2),
      row('not-an-email', true, 3),
      row(' ADA@mail.sample-shop.dev ', false, 4),
      row(42, true, 5),
      row('bob@mail.sample-shop.dev', true, 6)
    ])
    const joining = await collect(decidingRows([source], files, true, (entry, by) => folded.push([entry.ordinal, by])))
    const leaving = await collect(decidingRows([source], files, false))
    expect(joining.map((entry) => entry.ordinal)).toEqual([4])
    expect(leaving.map((entry) => entry.ordinal)).toEqual([2])
    expect(folded).toEqual([[0, 2]])
  })

  it('refuses nothing itself but reports an address one file adds and the other removes', async () => {
    const files = await indexRows(
      [
        rowsSource('join.csv', [row('ada@mail.sample-shop.dev'), row('bob@mail.sample-shop.dev')]),
        rowsSource('leave.csv', [row('ADA@mail.sample-shop.dev', false, 2), row('cy@mail.sample-shop.dev', false, 3)])
      ],
      rules,
      { unusable: () => undefined }
    )
    expect(files.conflicts).toEqual({
      addresses: 1,
      examples: ['"ADA@mail.sample-shop.dev" (f.csv:2, also in join.csv)']
    })
  })

  it('pairs joiners with leavers in batches of at most 500 of each, as the destination chunks them', async () => {
    const batches = await collect(batchesOf(stream(1200, true), stream(300, false)))
    expect(batches.map((batch) => batch.filter((e) => e.row.inCohort).length)).toEqual([500, 500, 200])
    expect(batches.map((batch) => batch.filter((e) => !e.row.inCohort).length)).toEqual([300, 0, 0])
    expect(plannedRequests(1200, 300, 'subscribed')).toEqual({ batchSubscribe: 3, tagUpdates: 3 })
    expect(plannedRequests(1200, 1600, 'skip')).toEqual({ batchSubscribe: 0, tagUpdates: 4 })
  })

  it('stops between batches once told to', async () => {
    let stop = false
    const seen: number[] = []
    for await (const batch of batchesOf(stream(5000, true), stream(0, false), () => stop)) {
      seen.push(batch.length)
      stop = true
    }
    expect(seen).toEqual([500])
  })
})

describe('the outcome tally', () => {
  const outcome = (status: number, message: string, line: number): RowOutcome => ({
    source: `f.csv:${line}`,
    email: `p${line}@mail.sample-shop.dev`,
    inCohort: true,
    status,
    attempts: 1,
    ...(status < 300 ? { result: 'added' } : { message })
  })

  it('counts every row by kind and keeps the first failed rows in file order, whatever order they come in', () => {
    const tally = new OutcomeTally()
    for (let line = 1000; line > 0; line--)
      tally.add(outcome(line % 2 ? 400 : 200, 'Not an email address: x', line), line)
    expect([tally.rows, tally.landed, tally.failed]).toEqual([1000, 500, 500])
    expect(tally.groups().map(({ outcome: label, rows }) => [label, rows])).toEqual(
      expect.arrayContaining([
        ['400 Not an email address', 500],
        ['200 added', 500]
      ])
    )
    expect(tally.groups()).toHaveLength(2)
    expect(tally.firstFailures().map((o) => o.source)).toEqual(
      Array.from({ length: LISTED_FAILURES }, (_, i) => `f.csv:${2 * i + 1}`)
    )
  })

  it('tells apart a bounded number of kinds', () => {
    const tally = new OutcomeTally()
    for (let i = 0; i < 10_000; i++) tally.add(outcome(400, `Column "x" holds "v${i}": use true or false.`, i))
    expect(tally.groups().length).toBeLessThanOrEqual(51)
    expect(tally.groups().reduce((sum, group) => sum + group.rows, 0)).toBe(10_000)
  })
})

describe('credentials', () => {
  const refused = (env: NodeJS.ProcessEnv) => {
    try {
      credentialsFrom(env)
    } catch (error) {
      expect(error).toBeInstanceOf(UsageError)
      return (error as Error).message
    }
    throw new Error('accepted')
  }
  const key = '0123456789abcdef0123456789abcdef-us6'

  it.each([
    ['an empty token', { MAILCHIMP_ACCESS_TOKEN: '' }, /MAILCHIMP_ACCESS_TOKEN is set but empty.*--sandbox/],
    ['a blank API key', { MAILCHIMP_API_KEY: '   ' }, /MAILCHIMP_API_KEY is set but empty/],
    ['a line break inside', { MAILCHIMP_ACCESS_TOKEN: 'abc\ndef' }, /contains a line break at character 4/],
    ['a line break at the end', { MAILCHIMP_API_KEY: `${key}\n` }, /contains a line break at its end/],
    ['a tab', { MAILCHIMP_ACCESS_TOKEN: 'abc\tdef' }, /control character \(U\+0009\)/],
    ['an inner space', { MAILCHIMP_ACCESS_TOKEN: 'abc def' }, /contains a space at character 4/],
    ['a curly quote', { MAILCHIMP_ACCESS_TOKEN: '“abcdef”' }, /contains "“" \(U\+201C\).*quote pasted along/],
    ['a key in the token variable', { MAILCHIMP_ACCESS_TOKEN: key }, /looks like an API key.*MAILCHIMP_API_KEY/],
    ['a key without a data center', { MAILCHIMP_API_KEY: '0123456789abcdef0123456789abcdef' }, /data center/],
    ['a key of the wrong length', { MAILCHIMP_API_KEY: 'abc-us6' }, /32 hexadecimal characters/],
    ['both', { MAILCHIMP_ACCESS_TOKEN: 't0ken', MAILCHIMP_API_KEY: key }, /Both .* are set/]
  ])('refuses %s, saying what to fix', (_name, env, message) => {
    expect(refused(env)).toMatch(message)
  })

  it('accepts an OAuth token and an API key (spaces around it trimmed), and nothing set means none', () => {
    expect(credentialsFrom({ MAILCHIMP_ACCESS_TOKEN: ' 0123abcdTOKEN ' })).toEqual({
      kind: 'oauth',
      token: '0123abcdTOKEN'
    })
    expect(credentialsFrom({ MAILCHIMP_API_KEY: key })).toEqual({ kind: 'apiKey', token: key, dataCenter: 'us6' })
    expect(credentialsFrom({})).toBeUndefined()
  })
})

describe('the command’s words', () => {
  it.each([
    [
      'No email address: the Email field is empty and user property "mail" (Email Property setting) is missing or empty. Send the email in that property, or change the Email Property setting.',
      'No email address: column "mail" (--email-column) is missing or empty. Fill it in, or name another column with --email-column.'
    ],
    ['Shorten the cohort name or set a shorter Tag Name.', 'Give a shorter --cohort.'],
    ['The Audience ID setting (audience_id) must be letters', '--audience must be letters'],
    [
      '… with Status for New Contacts set to Skip the plugin creates nobody',
      '… with --status-if-new skip the plugin creates nobody'
    ]
  ])('puts %j in the command’s words', (message, words) => {
    expect(inCommandWords(message)).toBe(words)
  })

  it('says which domains the sandbox treats as fake, in sandbox mode only', () => {
    const fake =
      'Mailchimp refused this contact: a@example.com looks fake or invalid, please enter a real email address.'
    expect(inCommandWords(fake)).toBe(fake)
    expect(inCommandWords(fake, { fakeDomains: ['example.com', 'test.com'] })).toMatch(
      /looks fake .* \(The sandbox, like Mailchimp, refuses addresses at example\.com and test\.com as fake/
    )
  })
})

describe('progress', () => {
  it('gives no time left until a few seconds have passed and a little is done, then the rate’s estimate', () => {
    expect(timeLeft(1000, 500, 1000)).toBeUndefined()
    expect(timeLeft(10_000, 1, 1000)).toBeUndefined()
    expect(timeLeft(10_000, 1000, 1000)).toBeUndefined()
    expect(timeLeft(10_000, 100, 1000)).toBe('about 2 min left')
    expect(timeLeft(60_000, 999, 1000)).toBe('about 1 s left')
    expect(timeLeft(6000, 25, 1000)).toBe('about 4 min left')
  })

  it('hides the cursor while the bar runs and gives it back when stopped', () => {
    let written = ''
    const terminal = Object.assign(
      new Writable({
        write: (chunk, _encoding, done) => {
          written += String(chunk)
          done()
        }
      }),
      { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true }
    )
    const progress = new Progress(terminal)
    progress.sending(10, 100)
    expect(written).toContain('\x1b[?25l')
    progress.stop()
    expect(written.lastIndexOf('\x1b[?25h')).toBeGreaterThan(written.lastIndexOf('\x1b[?25l'))
  })
})

describe('interrupts', () => {
  it('stops on the first signal and ends on the second, after the exit hooks', () => {
    const interrupt = new Interrupt()
    const hook = jest.fn()
    interrupt.onExit(hook)
    expect(interrupt.receive()).toBe(false)
    expect(interrupt.signal.aborted).toBe(true)
    expect(interrupt.receive()).toBe(true)
    interrupt.runExitHooks()
    expect(hook).toHaveBeenCalledTimes(1)
  })
})

describe('the report', () => {
  const summary = (counts: { contacts: number; duplicates: number; tagUpdates: number; toUntag: number }) => ({
    cohort: 'C',
    audienceId: '57afe96172',
    dryRun: true,
    rows: counts.contacts + counts.duplicates,
    contacts: counts.contacts,
    joiners: counts.contacts,
    leavers: 0,
    duplicates: counts.duplicates,
    plannedRequests: { batchSubscribe: counts.tagUpdates, tagUpdates: counts.tagUpdates },
    mirror: { tagMembers: counts.contacts, toUntag: counts.toUntag, examples: [] },
    tally: new OutcomeTally(),
    notSent: 0,
    interrupted: false,
    elapsedMs: 0
  })

  it('counts in the singular when there is one, and in the plural otherwise', () => {
    const one = formatReport(summary({ contacts: 1, duplicates: 1, tagUpdates: 1, toUntag: 1 }), {
      target: { kind: 'mailchimp' }
    })
    expect(one).toContain('Rows: 2 read, 1 contact (1 in the cohort, 0 leaving), 1 duplicate row folded')
    expect(one).toContain('Would send: 1 batch subscribe and 1 tag call, plus a few lookups')
    expect(one).toContain('Mirror: the tag had 1 contact; 1 of them is not in the file and would lose it')
    const many = formatReport(summary({ contacts: 2, duplicates: 0, tagUpdates: 2, toUntag: 2 }), {
      target: { kind: 'mailchimp' }
    })
    expect(many).toContain('Rows: 2 read, 2 contacts (2 in the cohort, 0 leaving), 0 duplicate rows folded')
    expect(many).toContain('Would send: 2 batch subscribe and 2 tag calls, plus a few lookups')
    expect(many).toContain('Mirror: the tag had 2 contacts; 2 of them are not in the file and would lose it')
  })
})
