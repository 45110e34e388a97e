import { readFileSync } from 'fs'
import { join } from 'path'
import semver from 'semver'

const root = join(__dirname, '..')
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { dev?: boolean; engines?: { node?: string } }>
}

/** The Node versions a clone is promised (devEngines) and the ones a host is promised (engines). */
const forClones: string = manifest.devEngines.runtime.version
const forHosts: string = manifest.engines.node

/** Every package of the lock file whose declared Node versions leave out some of `promised`. */
function narrower(promised: string, packages: [string, { engines?: { node?: string } }][]) {
  return packages
    .filter(([, p]) => p.engines?.node && !semver.subset(promised, p.engines.node, { includePrerelease: false }))
    .map(([path, p]) => `${path.replace(/^.*node_modules\//, '')} wants ${p.engines?.node}`)
}

describe('the Node versions we promise', () => {
  const all = Object.entries(lock.packages).filter(([path]) => path !== '')

  it('are ones every installed package supports, so `npm ci --engine-strict` passes on each of them', () => {
    expect(narrower(forClones, all)).toEqual([])
  })

  it('are, for hosts, ones every runtime dependency supports', () => {
    expect(
      narrower(
        forHosts,
        all.filter(([, p]) => !p.dev)
      )
    ).toEqual([])
    expect(semver.subset(forClones, forHosts)).toBe(true)
  })

  it('are the ones the README states, and CI installs with engine warnings as errors', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8')
    expect(readme.includes(`\`${forClones}\``)).toBe(true)
    expect(readFileSync(join(root, '.ci/run'), 'utf8')).toMatch(/npm ci --engine-strict/)
  })
})
