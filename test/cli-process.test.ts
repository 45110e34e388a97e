import { spawnSync } from 'child_process'
import { Writable } from 'stream'
import { writeCohort } from '../scripts/generate-cohort'
import { Interrupt } from '../src/cli/interrupt'
import type { SandboxCounters } from '../src/sandbox'
import {
  cli,
  envWithoutCredentials,
  file,
  ROOT,
  scratch,
  spawnCommand,
  startSandboxProcess,
  until,
  watch
} from './cli-helpers'
import type { SandboxProcess } from './cli-helpers'

// The command as an operator runs it: against `npm run sandbox` in another process, interrupted by signals, and
// under a small heap.

let sandbox: SandboxProcess

afterEach(async () => {
  await sandbox?.stop()
})

const tagMembers = async (audienceId: string, tag = 'Power users') =>
  (
    await sandbox.admin<{ emails: string[] }>('GET', `/audiences/${audienceId}/tags/${encodeURIComponent(tag)}/members`)
  ).emails.sort()
const counters = () => sandbox.admin<SandboxCounters>('GET', '/counters')

describe('--sandbox <url>: a running sandbox', () => {
  it('takes its token and default audience from it, so a delta and a mirror can be tried across runs', async () => {
    sandbox = await startSandboxProcess()
    const sync = (args: string[]) => cli(['sync', '--sandbox', sandbox.url, '--cohort', 'Power users', ...args])
    const first = await sync([
      '--file',
      file('first.csv', 'email\nada@mail.sample-shop.dev\nbob@mail.sample-shop.dev\ncy@mail.sample-shop.dev\n'),
      '--json'
    ])
    expect(first.code).toBe(0)
    expect(first.stderr).toMatch(`--sandbox: syncing into a local sandbox at ${sandbox.url}, not Mailchimp.`)
    expect(JSON.parse(first.stdout)).toMatchObject({
      target: 'sandbox',
      sandbox_url: sandbox.url,
      audience_id: sandbox.audienceId,
      outcomes: { '200 created_and_added': 3 }
    })
    expect(await tagMembers(sandbox.audienceId)).toEqual([
      'ada@mail.sample-shop.dev',
      'bob@mail.sample-shop.dev',
      'cy@mail.sample-shop.dev'
    ])

    const delta = await sync([
      '--file',
      file('delta.csv', 'email,member\nbob@mail.sample-shop.dev,false\ndee@mail.sample-shop.dev,true\n'),
      '--membership-column',
      'member'
    ])
    expect(delta.code).toBe(0)
    expect(await tagMembers(sandbox.audienceId)).toEqual([
      'ada@mail.sample-shop.dev',
      'cy@mail.sample-shop.dev',
      'dee@mail.sample-shop.dev'
    ])

    const mirror = await sync([
      '--file',
      file('all.csv', 'email\nada@mail.sample-shop.dev\ndee@mail.sample-shop.dev\neve@mail.sample-shop.dev\n'),
      '--mirror',
      '--json'
    ])
    expect(mirror.code).toBe(0)
    expect(JSON.parse(mirror.stdout).mirror).toEqual({
      tag_members: 3,
      to_untag: 1,
      examples: ['cy@mail.sample-shop.dev'],
      refused: null
    })
    expect(await tagMembers(sandbox.audienceId)).toEqual([
      'ada@mail.sample-shop.dev',
      'dee@mail.sample-shop.dev',
      'eve@mail.sample-shop.dev'
    ])
  }, 60_000)
})

describe('interrupts', () => {
  const ROWS = 20_000

  it('stops sending at the first SIGINT, lets the batches in flight land, reports, exits 130; re-running is safe', async () => {
    sandbox = await startSandboxProcess(['--latency', '150'])
    const cohort = scratch('interrupted.csv')
    await writeCohort(cohort, ROWS, 'signal')
    const args = ['sync', '--sandbox', sandbox.url, '--file', cohort, '--cohort', 'Power users']
    const child = spawnCommand(args)
    const { finished, output } = watch(child)
    // Once some batch has been tagged, sending is under way.
    await until(async () => ((await counters()).byRoute['POST /3.0/lists/{list_id}/segments/{segment_id}'] ?? 0) > 0)
    child.kill('SIGINT')
    const result = await finished
    expect(output().code).toBe(130)
    expect(result.stderr).toMatch(/Stopping: no new batch is sent; waiting up to 10 s for those in flight/)
    const partial =
      /Interrupted: ([\d,]+) rows landed, 0 failed, ([\d,]+) contacts not sent or not confirmed\. Running the same command again is safe/.exec(
        result.stdout
      )
    expect(partial).not.toBeNull()
    const number = (text: string) => Number(text.replace(/,/g, ''))
    const [landed, notSent] = [number(partial![1]), number(partial![2])]
    expect(landed).toBeGreaterThan(0)
    expect(notSent).toBeGreaterThan(0)
    expect(landed + notSent).toBe(ROWS)
    // What the report says landed is what the tag holds: the batches in flight finished.
    expect(await tagMembers(sandbox.audienceId)).toHaveLength(landed)

    await sandbox.admin('POST', '/latency', { ms: 0 })
    const again = await cli([...args, '--json'])
    expect(again.code).toBe(0)
    const report = JSON.parse(again.stdout)
    expect(report.outcomes['200 already_tagged']).toBe(landed)
    expect(report.landed).toBe(ROWS)
    expect(await tagMembers(sandbox.audienceId)).toHaveLength(ROWS)
  }, 120_000)

  it('leaves at once on a second signal, without waiting for the batches in flight', async () => {
    sandbox = await startSandboxProcess()
    // Every batch subscribe hangs: the first signal's grace period would run its full length.
    await sandbox.admin('POST', '/faults', {
      kind: 'stall',
      method: 'POST',
      pathPattern: '^/3\\.0/lists/\\w+$',
      times: 100
    })
    const cohort = scratch('stalled.csv')
    await writeCohort(cohort, 3000, 'stall')
    const child = spawnCommand(['sync', '--sandbox', sandbox.url, '--file', cohort, '--cohort', 'Power users'])
    const { finished, output } = watch(child)
    await until(async () => ((await counters()).byStatus.stall ?? 0) > 0)
    child.kill('SIGINT')
    await until(() => output().stderr.includes('Stopping:'))
    child.kill('SIGINT')
    const result = await finished
    expect(result.code).toBe(130)
    // Gone before the grace period ended: no partial report was printed.
    expect(result.stdout).not.toMatch(/Interrupted:/)
  }, 60_000)

  it('gives the cursor back and reports when interrupted in this process with a progress bar', async () => {
    sandbox = await startSandboxProcess(['--latency', '100'])
    const cohort = scratch('bar.csv')
    await writeCohort(cohort, 5000, 'bar')
    let drawn = ''
    const terminal = Object.assign(
      new Writable({
        write: (chunk, _encoding, done) => {
          drawn += String(chunk)
          done()
        }
      }),
      { isTTY: true, columns: 100, cursorTo: () => true, clearLine: () => true, moveCursor: () => true }
    )
    const interrupt = new Interrupt()
    const running = cli(['sync', '--sandbox', sandbox.url, '--file', cohort, '--cohort', 'Power users'], {
      terminal,
      interrupt
    })
    await until(async () => ((await counters()).byRoute['POST /3.0/lists/{list_id}/segments/{segment_id}'] ?? 0) > 0)
    interrupt.receive()
    const result = await running
    expect(result.code).toBe(130)
    expect(result.stdout).toMatch(/Interrupted: [\d,]+ rows landed/)
    expect(drawn).toContain('\x1b[?25l')
    expect(drawn.lastIndexOf('\x1b[?25h')).toBeGreaterThan(drawn.lastIndexOf('\x1b[?25l'))
  }, 60_000)
})

describe('memory', () => {
  it('reads a 300,000-row file in a dry run under a 64 MB heap', async () => {
    const cohort = scratch('large.csv')
    await writeCohort(cohort, 300_000, 'heap')
    const run = spawnSync(
      process.execPath,
      [
        '--max-old-space-size=64',
        '--import',
        'tsx',
        'src/cli/mailchimp-cohort.ts',
        'sync',
        '--sandbox',
        '--dry-run',
        '--file',
        cohort,
        '--cohort',
        'Power users',
        '--json'
      ],
      { cwd: ROOT, env: envWithoutCredentials(), encoding: 'utf8', timeout: 110_000 }
    )
    expect(run.stderr).not.toMatch(/heap out of memory/)
    expect(run.status).toBe(0)
    expect(JSON.parse(run.stdout)).toMatchObject({ rows: 300_000, contacts: 300_000, failed_count: 0 })
  }, 120_000)
})
