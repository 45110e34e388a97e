/**
 * The package as a host gets it: the build in dist/ (`npm run bench` builds it first), not the TypeScript sources run
 * through tsx, whose module wrappers would add to every figure. Types come from the sources, which are the same.
 */
import { existsSync } from 'fs'
import { join } from 'path'

const DIST = join(__dirname, '..', 'dist', 'index.js')
if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build` first (`npm run bench` does).')

// eslint-disable-next-line @typescript-eslint/no-require-imports
export const pkg = require(DIST) as typeof import('../src')
