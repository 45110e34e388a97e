import { existsSync, readFileSync } from 'fs'
import type { MailchimpSandbox } from '../src/sandbox'
import { cli, file, scratch, withFreshSandbox } from './cli-helpers'

// Files read as streams: folding across the whole file, the failed rows written back, what stops a read at once,
// and the one address rule, through the command.

let sandbox: MailchimpSandbox
let audienceId: string

withFreshSandbox((fresh, id) => {
  sandbox = fresh
  audienceId = id
})

const sync = (args: string[]) =>
  cli(['sync', '--sandbox', '--audience', audienceId, '--cohort', 'Power users', ...args], { sandbox })
const members = () =>
  sandbox.tags(audienceId).some((t) => t.name === 'Power users') ? sandbox.tagMembers(audienceId, 'Power users') : []
const people = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `p${from + i}@mail.sample-shop.dev`)

describe('folding across the whole file', () => {
  it('lets the last row for an address win, even batches apart, and never sends the rows it folded', async () => {
    const rows = [
      'ada@mail.sample-shop.dev,true',
      'bob@mail.sample-shop.dev,false',
      ...people(1200).map((p) => `${p},true`),
      ' ADA@Mail.Sample-Shop.dev ,false',
      'BOB@mail.sample-shop.dev,true'
    ]
    const { code, stdout } = await sync([
      '--file',
      file('delta.csv', `email,member\n${rows.join('\n')}\n`),
      '--membership-column',
      'member',
      '--json'
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({
      rows: 1204,
      contacts: 1202,
      joiners: 1201,
      leavers: 1,
      duplicates: 2,
      planned_requests: { batch_subscribe: 3, tag_updates: 3 },
      outcomes: { '200 created_and_added': 1201, '200 not_tagged': 1 }
    })
    // Ada's first row (joining) was folded into her last (leaving): she was never created.
    expect(sandbox.contact(audienceId, 'ada@mail.sample-shop.dev')).toBeUndefined()
    expect(sandbox.contact(audienceId, 'bob@mail.sample-shop.dev')?.email_address).toBe('BOB@mail.sample-shop.dev')
    expect(members()).toHaveLength(1201)
    expect(sandbox.counters.byRoute['POST /3.0/lists/{list_id}']).toBe(3)
  }, 60_000)

  it('streams a dry run too: counts and refusals, nothing changed', async () => {
    const rows = [...people(1500), 'nope', ...people(10)]
    const { code, stdout } = await sync([
      '--file',
      file('big.csv', `email\n${rows.join('\n')}\n`),
      '--dry-run',
      '--json'
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout)).toMatchObject({
      dry_run: true,
      rows: 1511,
      contacts: 1500,
      duplicates: 10,
      planned_requests: { batch_subscribe: 3, tag_updates: 3 },
      failed: [{ source: 'big.csv:1502', email: 'nope', status: 400 }]
    })
    expect(Object.keys(sandbox.counters.byRoute).every((route) => route.startsWith('GET '))).toBe(true)
    expect(sandbox.contacts(audienceId)).toEqual([])
  }, 60_000)
})

describe('--failed-rows', () => {
  it('writes the rows that did not land as they were written, header first, and they can be synced again', async () => {
    const csv = [
      'email,note',
      'ada@mail.sample-shop.dev,fine',
      '"jane.doe","two',
      'lines"',
      'fake@example.com,"quoted, with a comma"',
      '',
      'bob@mail.sample-shop.dev,fine'
    ].join('\r\n')
    const failed = scratch('failed.csv')
    const first = await sync(['--file', file('in.csv', `${csv}\r\n`), '--failed-rows', failed, '--json'])
    expect(first.code).toBe(1)
    const report = JSON.parse(first.stdout)
    expect(report.failed.map((f: { source: string }) => f.source)).toEqual(['in.csv:3', 'in.csv:5'])
    expect(report.failed_rows_files).toEqual([{ path: failed, rows: 2, of: '--file' }])
    expect(readFileSync(failed, 'utf8')).toBe(
      'email,note\r\n"jane.doe","two\r\nlines"\r\nfake@example.com,"quoted, with a comma"\r\n'
    )
    const again = await sync(['--file', failed, '--json'])
    expect(again.code).toBe(1)
    expect(JSON.parse(again.stdout)).toMatchObject({ rows: 2, failed_count: 2 })
  })

  it('writes leavers that failed beside it, to be removed again, and JSON Lines as JSON Lines', async () => {
    sandbox.inject({ kind: 500, method: 'POST', path: /\/segments\/\d+$/, times: 4 })
    const failed = scratch('again.jsonl')
    const { code, stdout } = await sync([
      '--file',
      file('join.jsonl', '{"email":"ada@mail.sample-shop.dev"}\n{"email":"nope"}\n'),
      '--remove-file',
      file('leave.jsonl', '{"email":"zed@mail.sample-shop.dev"}\n'),
      '--failed-rows',
      failed,
      '--json'
    ])
    expect(code).toBe(1)
    expect(JSON.parse(stdout).failed_rows_files).toEqual([
      { path: failed, rows: 2, of: '--file' },
      { path: scratch('again-remove.jsonl'), rows: 1, of: '--remove-file' }
    ])
    expect(readFileSync(failed, 'utf8')).toBe('{"email":"nope"}\n{"email":"ada@mail.sample-shop.dev"}\n')
    expect(readFileSync(scratch('again-remove.jsonl'), 'utf8')).toBe('{"email":"zed@mail.sample-shop.dev"}\n')
  })

  it('never overwrites an input file, and leaves no file when the run is refused', async () => {
    const input = file('same.csv', 'email\nada@mail.sample-shop.dev\n')
    const same = await sync(['--file', input, '--failed-rows', input])
    expect(same.code).toBe(2)
    expect(same.stderr).toMatch(/--failed-rows would overwrite .*same\.csv, an input file/)
    const refused = scratch('refused.csv')
    const long = await cli(
      ['sync', '--sandbox', '--audience', audienceId, '--cohort', 'x'.repeat(90), '--file', input],
      { sandbox }
    )
    expect(long.code).toBe(2)
    const conflict = await sync([
      '--file',
      file('bad.csv', 'email\nnope\nada@mail.sample-shop.dev\n'),
      '--remove-file',
      file('ada.csv', 'email\nada@mail.sample-shop.dev\n'),
      '--failed-rows',
      refused
    ])
    expect(conflict.code).toBe(2)
    expect(existsSync(refused)).toBe(false)
    expect(sandbox.counters.total).toBe(0)
  })
})

describe('input that stops the read at once', () => {
  it('refuses a device such as /dev/zero at once, exit 2', async () => {
    const { code, stderr } = await sync(['--file', '/dev/zero'])
    expect(code).toBe(2)
    expect(stderr).toMatch(/\/dev\/zero is not a regular file/)
    expect(sandbox.counters.total).toBe(0)
  })

  it('stops at the first chunk of a large binary file', async () => {
    const zeros = file('zeros.csv', Buffer.alloc(32 * 1024 * 1024))
    const { code, stderr } = await sync(['--file', zeros])
    expect(code).toBe(2)
    expect(stderr).toMatch(/zeros\.csv is not a UTF-8 text file/)
  })

  it.each([
    [
      'a CSV line',
      'long.csv',
      `email\n${'x'.repeat(4 * 1024 * 1024)}`,
      /long\.csv:2 has a record over 65,536 characters/
    ],
    ['a quote left open', 'open.csv', `email\n"${'x,'.repeat(100_000)}`, /open\.csv:2 has a record over 65,536/],
    [
      'a JSON line',
      'long.jsonl',
      `{"email":"${'x'.repeat(4 * 1024 * 1024)}"}`,
      /long\.jsonl:1 is over 65,536 characters/
    ]
  ])('refuses %s over 64 KiB, exit 2', async (_name, name, content, message) => {
    const { code, stderr } = await sync(['--file', file(name, content)])
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
    expect(sandbox.counters.total).toBe(0)
  })

  it('reports a record that spans lines at its first line', async () => {
    const csv = 'email,note\nada@mail.sample-shop.dev,"a\nb"\n\n"not\nan email","c\nd\ne"\nbob@mail.sample-shop.dev,x\n'
    const { code, stdout } = await sync(['--file', file('multi.csv', csv), '--json'])
    expect(code).toBe(1)
    expect(JSON.parse(stdout).failed.map((f: { source: string }) => f.source)).toEqual(['multi.csv:5'])
  })
})

describe('addresses: the destination’s one rule, through the command', () => {
  it('makes one contact of an international domain in either spelling, sent in ASCII form', async () => {
    const { code, stdout } = await sync([
      '--file',
      file('idn.csv', 'email\nuser@bücher.de\nUSER@xn--bcher-kva.de\n'),
      '--json'
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout)).toMatchObject({ rows: 2, contacts: 1, duplicates: 1 })
    expect(sandbox.contacts(audienceId).map((c) => c.email_address)).toEqual(['USER@xn--bcher-kva.de'])
  })

  it.each([
    ['a zero-width space', 'zero\u200bwidth@mail.sample-shop.dev', /invisible, space or control character \(U\+200B\)/],
    ['a trailing dot', 'user@mail.acme.io.', /the domain ends with a dot/],
    [
      'a label with hyphens at its ends',
      'user@-bad-.io',
      /the domain label "-bad-" is not letters, digits and inner hyphens/
    ]
  ])('refuses an address with %s, naming the rule, and never sends it', async (_name, address, rule) => {
    const { code, stdout } = await sync([
      '--file',
      file('bad.csv', `email\n${address}\nada@mail.sample-shop.dev\n`),
      '--json'
    ])
    expect(code).toBe(1)
    const { failed } = JSON.parse(stdout)
    expect(failed).toEqual([{ source: 'bad.csv:2', email: address, status: 400, message: expect.stringMatching(rule) }])
    expect(sandbox.contacts(audienceId).map((c) => c.email_address)).toEqual(['ada@mail.sample-shop.dev'])
  })

  it('matches the tag’s members by the same rule in a mirror: the other spelling is not a leaver', async () => {
    sandbox.addContacts(audienceId, [
      { email_address: 'user@xn--bcher-kva.de', status: 'subscribed', tags: ['Power users'] },
      { email_address: 'gone@mail.sample-shop.dev', status: 'subscribed', tags: ['Power users'] }
    ])
    const { code, stdout } = await sync([
      '--file',
      file('m.csv', 'email\nUser@Bücher.de\nada@mail.sample-shop.dev\n'),
      '--mirror',
      '--json'
    ])
    expect(code).toBe(0)
    expect(JSON.parse(stdout).mirror).toEqual({
      tag_members: 2,
      to_untag: 1,
      examples: ['gone@mail.sample-shop.dev'],
      refused: null
    })
    expect(members().sort()).toEqual(['ada@mail.sample-shop.dev', 'user@xn--bcher-kva.de'])
  })
})

describe('sandbox addresses', () => {
  it('says which domains the sandbox treats as fake when it refuses one', async () => {
    const { code, stdout } = await sync(['--file', file('fake.csv', 'email\nfirst.try@example.com\n')])
    expect(code).toBe(1)
    expect(stdout).toMatch(
      /looks fake or invalid.*\(The sandbox, like Mailchimp, refuses addresses at example\.com, example\.net, example\.org and test\.com as fake/
    )
  })
})
