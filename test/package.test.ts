import { execFile, execFileSync, spawnSync } from 'child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { promisify } from 'util'
import { createTestEvent, defaultValues } from '@segment/actions-core'
import nock from 'nock'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from '../src/sandbox'
import { subscribeAnswer, tagAnswer } from './answers'
import { AUDIENCE_ID, api, metadata, settings, tag } from './helpers'

const root = join(__dirname, '..')

/**
 * Packs the project as `npm pack` does for a host, unpacks it into an empty folder beside the host's actions-core,
 * and loads it from there with a plain `require`, and from an ES module host.
 */
describe('the npm package', () => {
  let workspace: string
  let files: string[]

  beforeAll(() => {
    workspace = mkdtempSync(join(tmpdir(), 'mailchimp-cohort-pack-'))
    const packed = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', workspace], { cwd: root, encoding: 'utf8' })
    ) as Array<{ filename: string; files: Array<{ path: string }> }>
    files = packed[0].files.map((f) => f.path)

    const installed = join(workspace, 'node_modules')
    const pkg = join(installed, 'mailchimp-cohort-destination')
    mkdirSync(pkg, { recursive: true })
    execFileSync('tar', ['-xzf', join(workspace, packed[0].filename), '-C', pkg, '--strip-components=1'])
    // What the host provides (its actions-core, liquidjs and Node types) and what npm would install for us (zod...).
    mkdirSync(join(installed, '@segment'))
    symlinkSync(join(root, 'node_modules/@segment/actions-core'), join(installed, '@segment/actions-core'))
    mkdirSync(join(installed, '@types'))
    symlinkSync(join(root, 'node_modules/@types/node'), join(installed, '@types/node'))
    for (const dep of ['liquidjs', 'zod', 'commander', 'csv-parse', 'cli-progress']) {
      symlinkSync(join(root, 'node_modules', dep), join(installed, dep))
    }
  }, 120_000)

  afterAll(() => rmSync(workspace, { recursive: true, force: true }))

  it('holds the built code and package.json, and no tests or sources', () => {
    expect(files).toContain('package.json')
    expect(files).toContain('dist/index.js')
    expect(files).toContain('dist/index.d.ts')
    expect(files).toContain('dist/index.mjs')
    expect(files).toContain('dist/index.d.mts')
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md'].includes(f))).toEqual([])
    expect(files.filter((f) => /test/i.test(f))).toEqual([])
  })

  it('loads the plugin alone: requiring it loads neither the CLI nor the sandbox', () => {
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        "require('mailchimp-cohort-destination'); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.includes('mailchimp-cohort-destination'))))"
      ],
      { cwd: workspace, encoding: 'utf8' }
    )
    const modules = JSON.parse(loaded) as string[]
    expect(modules.some((f) => f.endsWith('/dist/index.js'))).toBe(true)
    expect(modules.filter((f) => /\/dist\/(cli|sandbox)\//.test(f))).toEqual([])
  })

  it('installs the mailchimp-cohort command, which syncs a file into its own sandbox without credentials', () => {
    const manifest = JSON.parse(
      readFileSync(join(workspace, 'node_modules/mailchimp-cohort-destination/package.json'), 'utf8')
    )
    const bin = join(workspace, 'node_modules/mailchimp-cohort-destination', manifest.bin['mailchimp-cohort'])
    expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true)
    const csv = join(workspace, 'cohort.csv')
    writeFileSync(csv, 'email\nada@mail.sample-shop.dev\nbob@mail.sample-shop.dev\n')
    const { MAILCHIMP_ACCESS_TOKEN: _token, MAILCHIMP_API_KEY: _key, ...env } = process.env
    const run = spawnSync(
      process.execPath,
      [bin, 'sync', '--sandbox', '--file', csv, '--cohort', 'Power users', '--json'],
      {
        cwd: workspace,
        env,
        encoding: 'utf8'
      }
    )
    expect(run.stderr).toMatch(/syncing into a local sandbox at http:\/\/127\.0\.0\.1:\d+, not Mailchimp/)
    expect(run.status).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({ target: 'sandbox', rows: 2, exit_code: 0, outcomes: { '200 created_and_added': 2 } })
  })

  it('loads with require and works inside the host’s Destination', async () => {
    const entry = join(workspace, 'node_modules/mailchimp-cohort-destination')
    expect(readdirSync(join(entry, 'dist'))).toContain('index.js')
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const loaded = require(entry)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Destination } = require(join(workspace, 'node_modules/@segment/actions-core'))

    expect(loaded.default).toBe(loaded.destination)
    expect(loaded.default.name).toBe('Mailchimp Cohorts')
    expect(loaded.default.slug).toBe('actions-mailchimp-cohorts')

    const host = new Destination(loaded.default)
    metadata()
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(200, { id: AUDIENCE_ID, name: 'Newsletter', double_optin: false })
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}/segments`)
      .query(true)
      .reply(200, { segments: [tag(5, 'Power Users')], total_items: 1 })
    api().get(`/3.0/lists/${AUDIENCE_ID}/segments/5`).query(true).reply(200, tag(5, 'Power Users'))

    await host.testAuthentication(settings)
    await expect(host.createAudience({ settings, audienceName: 'power users' })).resolves.toEqual({ externalId: '5' })
    await expect(host.getAudience({ settings, externalId: '5' })).resolves.toEqual({ externalId: '5' })

    // The sync, as the host runs a batch: one event in the cohort, one that left it. The audience's opt-in default is
    // the one testAuthentication read: nothing asks for the audience again.
    api()
      .post(`/3.0/lists/${AUDIENCE_ID}`)
      .query({ skip_merge_validation: 'true' })
      .reply(200, subscribeAnswer({ created: [{ email: 'in@example.com', status: 'subscribed' }] }))
    api()
      .post(`/3.0/lists/${AUDIENCE_ID}/segments/5`, {
        members_to_add: ['in@example.com'],
        members_to_remove: ['out@example.com']
      })
      .reply(200, tagAnswer({ added: ['in@example.com'], removed: ['out@example.com'] }))
    const event = (email: string, inCohort: boolean) =>
      createTestEvent({ type: 'identify', traits: { email, in_cohort: inCohort }, properties: { in_cohort: inCohort } })
    const { oauth, ...actionSettings } = settings
    const results = await host.executeBatch('syncCohort', {
      events: [event('in@example.com', true), event('out@example.com', false)],
      mapping: { ...defaultValues(loaded.default.actions.syncCohort.fields), external_audience_id: '5' },
      settings: actionSettings,
      auth: { accessToken: oauth.access_token, refreshToken: '' }
    })
    expect(results.map((r: { status: number }) => r.status)).toEqual([200, 200])
    expect(nock.pendingMocks()).toEqual([])
  })

  it('loads from an ES module host: the default export is the definition, named exports as with require', async () => {
    const sandbox = await startSandbox()
    try {
      sandbox.addAudience({ id: SANDBOX_AUDIENCE_ID, name: 'Newsletter' })
      sandbox.addContacts(SANDBOX_AUDIENCE_ID, [
        { email_address: 'old.leaver@mail.sample-shop.dev', status: 'subscribed', tags: ['Power users'] }
      ])
      copyFileSync(join(__dirname, 'hosts/esm-host.mjs'), join(workspace, 'esm-host.mjs'))
      // Asynchronous, so that this process's sandbox keeps answering while the host runs.
      const { stdout } = await promisify(execFile)(process.execPath, ['esm-host.mjs'], {
        cwd: workspace,
        env: { ...process.env, SANDBOX_URL: sandbox.url, SANDBOX_TOKEN, AUDIENCE_ID: SANDBOX_AUDIENCE_ID }
      })
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const cjs = require(join(workspace, 'node_modules/mailchimp-cohort-destination'))
      const lines = stdout.split('\n')
      expect(lines).toContain('default export: Mailchimp Cohorts (actions-mailchimp-cohorts)')
      expect(lines).toContain('same definition as require: true')
      const named = Object.keys(cjs).filter((name) => name !== 'default')
      expect(lines).toContain(`named exports: ${named.sort().join(', ')}`)
      const tagId = /^tag "Power users": id (\d+)$/m.exec(stdout)?.[1]
      expect(tagId).toBeDefined()
      expect(stdout).toContain(
        ['batch of 3 events:', '  200 created_and_added', '  200 removed', '  400 Not an email address'].join('\n')
      )
      expect(sandbox.tagMembers(SANDBOX_AUDIENCE_ID, Number(tagId))).toEqual(['new.joiner@mail.sample-shop.dev'])
    } finally {
      await sandbox.close()
    }
  }, 60_000)

  it('gives TypeScript the types of each entry: ESM through "import", CommonJS through "require"', () => {
    writeFileSync(
      join(workspace, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { module: 'node16', moduleResolution: 'node16', strict: true, noEmit: true, types: ['node'] },
        files: ['host.mts', 'host.cts']
      })
    )
    writeFileSync(
      join(workspace, 'host.mts'),
      [
        "import destination, { mailchimpCohorts, type Settings } from 'mailchimp-cohort-destination'",
        "const settings: Settings = { audience_id: '57afe96172', email_property: 'email' }",
        'const name: string = destination.name',
        "const slug: string | undefined = mailchimpCohorts({ dataCenter: 'us6' }).slug",
        '// @ts-expect-error the default export is the definition, typed, not the module namespace',
        'destination.destination',
        'export { settings, name, slug }'
      ].join('\n')
    )
    writeFileSync(
      join(workspace, 'host.cts'),
      [
        "import plugin = require('mailchimp-cohort-destination')",
        "const settings: plugin.Settings = { audience_id: '57afe96172', email_property: 'email' }",
        'const same: boolean = plugin.default === plugin.destination',
        '// @ts-expect-error the module is typed, not any',
        'plugin.nothing',
        'export = { settings, same }'
      ].join('\n')
    )
    const tsc = join(root, 'node_modules/typescript/bin/tsc')
    const run = spawnSync(process.execPath, [tsc, '-p', workspace], { cwd: workspace, encoding: 'utf8' })
    expect(run.stdout + run.stderr).toBe('')
    expect(run.status).toBe(0)
  }, 60_000)
})
