/**
 * Writes test/segment-catalog.json: the name and slug of every destination in Segment's catalog, which
 * test/catalog.test.ts checks ours against. The catalog package wants other Node versions than this project
 * promises, so it is not a dev dependency: this script installs it into a temporary folder, reads its manifest and
 * writes the list. Run it (with network access) when a newer catalog should be compared, and commit the output:
 *
 *   npx tsx scripts/segment-catalog.ts 3.387.0
 */
import { execFileSync } from 'child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'

const version = process.argv[2]
if (!version || !/^\d+\.\d+\.\d+$/.test(version)) {
  console.error('usage: npx tsx scripts/segment-catalog.ts <version of @segment/action-destinations>')
  process.exit(2)
}

const folder = mkdtempSync(join(tmpdir(), 'segment-catalog-'))
try {
  const catalog = `@segment/action-destinations@${version}`
  // Packages the catalog's destinations require without declaring them; loading its manifest needs them.
  const undeclared = ['xml-js', '@aws-sdk/client-sts', '@aws-sdk/client-s3', 'chance']
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--ignore-scripts', catalog, ...undeclared], {
    cwd: folder,
    stdio: 'inherit'
  })
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { manifest } = require(join(folder, 'node_modules/@segment/action-destinations')) as {
    manifest: Record<string, { definition: { name: string; slug?: string } }>
  }
  const destinations = Object.values(manifest)
    .map(({ definition }) => ({ name: definition.name, slug: definition.slug ?? '' }))
    .sort((a, b) => a.slug.localeCompare(b.slug) || a.name.localeCompare(b.name))
  const out = join(__dirname, '..', 'test', 'segment-catalog.json')
  writeFileSync(out, JSON.stringify({ source: catalog, destinations }, null, 2) + '\n')
  console.log(`${out}: ${destinations.length} destinations of ${catalog}`)
} finally {
  rmSync(folder, { recursive: true, force: true })
}
