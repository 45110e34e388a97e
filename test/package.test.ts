import { execFileSync } from 'child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import nock from 'nock'
import { AUDIENCE_ID, api, metadata, settings, tag } from './helpers'

const root = join(__dirname, '..')

/**
 * Packs the project as `npm pack` does for a host, unpacks it into an empty folder beside the host's actions-core,
 * and loads it from there with a plain `require`.
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
    // What the host provides (its actions-core and liquidjs) and what npm would install for us (zod).
    mkdirSync(join(installed, '@segment'))
    symlinkSync(join(root, 'node_modules/@segment/actions-core'), join(installed, '@segment/actions-core'))
    for (const dep of ['liquidjs', 'zod']) symlinkSync(join(root, 'node_modules', dep), join(installed, dep))
  }, 120_000)

  afterAll(() => rmSync(workspace, { recursive: true, force: true }))

  it('holds the built code and package.json, and no tests or sources', () => {
    expect(files).toContain('package.json')
    expect(files).toContain('dist/index.js')
    expect(files).toContain('dist/index.d.ts')
    expect(files.filter((f) => !f.startsWith('dist/') && !['package.json', 'README.md'].includes(f))).toEqual([])
    expect(files.filter((f) => /test/i.test(f))).toEqual([])
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
    expect(nock.pendingMocks()).toEqual([])
  })
})
