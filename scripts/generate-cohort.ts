/**
 * Writes a large cohort file for trying the command at scale (not committed): `email,first_name,plan`, one distinct
 * address a row, deterministic.
 *
 *   npx tsx scripts/generate-cohort.ts --rows 1000000 --out /tmp/cohort-1m.csv
 */
import { createWriteStream } from 'fs'
import { once } from 'events'
import { Command } from 'commander'

const FIRST = ['ann', 'bob', 'cleo', 'dev', 'eva', 'finn', 'gia', 'hugo', 'ida', 'jon', 'kai', 'lea', 'max', 'nia']
const PLANS = ['pro', 'team', 'enterprise']
const DOMAINS = ['mail.sample-shop.dev', 'inbox.sample-co.dev', 'post.sample-net.dev']

/** Row `n` of the generated cohort, without its line break. */
export function cohortLine(n: number, prefix = 'user'): string {
  const first = FIRST[n % FIRST.length]
  return `${first}.${prefix}${n}@${DOMAINS[n % DOMAINS.length]},${first},${PLANS[n % PLANS.length]}`
}

/** Writes `rows` rows (and the header) to `path`, a few hundred kilobytes at a time. */
export async function writeCohort(path: string, rows: number, prefix = 'user'): Promise<void> {
  const out = createWriteStream(path)
  out.write('email,first_name,plan\n')
  const lines: string[] = []
  for (let n = 0; n < rows; n++) {
    lines.push(cohortLine(n, prefix))
    if (lines.length === 5000 || n === rows - 1) {
      if (!out.write(`${lines.join('\n')}\n`)) await once(out, 'drain')
      lines.length = 0
    }
  }
  out.end()
  await once(out, 'finish')
}

if (require.main === module) {
  const options = new Command('generate-cohort')
    .requiredOption('--rows <n>', 'rows to write', (value) => Number.parseInt(value, 10))
    .requiredOption('--out <path>', 'the CSV file to write')
    .option('--prefix <text>', 'part of every address, to tell runs apart', 'user')
    .parse()
    .opts<{ rows: number; out: string; prefix: string }>()
  writeCohort(options.out, options.rows, options.prefix).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
