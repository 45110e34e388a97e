/**
 * Writes the bundled sample cohort that `npm start` syncs (examples/). Deterministic: the same files every run.
 * Run with `npx tsx scripts/generate-sample.ts` after changing it, and commit the output.
 */
import { writeFileSync } from 'fs'
import { join } from 'path'

const DOMAINS = ['mail.sample-shop.dev', 'inbox.sample-co.dev', 'post.sample-net.dev']
const FIRST = ['ann', 'bob', 'cleo', 'dev', 'eva', 'finn', 'gia', 'hugo', 'ida', 'jon', 'kai', 'lea', 'max', 'nia']
const LAST = ['lee', 'park', 'diaz', 'khan', 'moss', 'ito', 'roy', 'vega', 'wolf', 'zhu']
const PLANS = ['pro', 'team', 'enterprise']

const person = (n: number) => {
  const first = FIRST[n % FIRST.length]
  const last = LAST[Math.floor(n / FIRST.length) % LAST.length]
  return { first, email: `${first}.${last}${n}@${DOMAINS[n % DOMAINS.length]}` }
}
const csv = (rows: string[][]) =>
  rows
    .map((row) => row.map((cell) => (/[",\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell)).join(','))
    .join('\n') + '\n'

// The cohort: users 0–4,979, plus bad rows a real export has.
const cohort: string[][] = [['email', 'first_name', 'plan']]
for (let n = 0; n < 4980; n++) cohort.push([person(n).email, person(n).first, PLANS[n % PLANS.length]])
const bad = [
  ['', 'nomail', 'pro'],
  ['', 'blank', 'team'],
  ['jane.doe', 'jane', 'pro'],
  ['bob@', 'bob', 'team'],
  ['@nobody.dev', 'nobody', 'pro'],
  ['two@@at.dev', 'two', 'pro'],
  ['with space@sample-shop.dev', 'space', 'team'],
  [`${'x'.repeat(300)}@sample-shop.dev`, 'long', 'pro'],
  ['test.user@example.com', 'test', 'pro'],
  ['demo@example.org', 'demo', 'team'],
  ['forgotten.one@mail.sample-shop.dev', 'forgot', 'pro'],
  ['forgotten.two@inbox.sample-co.dev', 'forgot', 'team'],
  [` ${person(10).email.toUpperCase()} `, 'dup', 'pro'],
  [person(11).email.replace(/^./, (c) => c.toUpperCase()), 'dup', 'team'],
  [person(12).email, 'dup', 'enterprise']
]
bad.forEach((row, i) => cohort.splice(300 * (i + 1), 0, row))

// Already in the audience before the first sync: some cohort members in every status, and people outside the cohort.
const statuses = ['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional']
const audience: string[][] = [['email', 'status']]
for (let n = 0; n < 4980; n += 12) audience.push([person(n).email, statuses[(n / 12) % statuses.length]])
for (let n = 6000; n < 6600; n++) audience.push([person(n).email, statuses[n % 3 === 0 ? 1 : 0]])

// The next scheduled run: 400 leavers, 300 joiners (half already in the audience), and two bad rows.
const delta: string[][] = [['email', 'in_cohort']]
for (let n = 0; n < 4000; n += 10) delta.push([person(n).email, 'false'])
for (let n = 6000; n < 6150; n++) delta.push([person(n).email, 'true'])
for (let n = 7000; n < 7150; n++) delta.push([person(n).email, 'true'])
delta.push(['not-an-email', 'true'], [person(7200).email, 'maybe'])

// A small clean cohort for the README's command examples: every row lands, so the command exits 0.
const signups: string[][] = [['email', 'first_name']]
for (let n = 8000; n < 8025; n++) signups.push([person(n).email, person(n).first])

const dir = join(__dirname, '..', 'examples')
writeFileSync(join(dir, 'power-users.csv'), csv(cohort))
writeFileSync(join(dir, 'power-users-delta.csv'), csv(delta))
writeFileSync(join(dir, 'sandbox-audience.csv'), csv(audience))
writeFileSync(join(dir, 'new-signups.csv'), csv(signups))
console.log(
  `examples/: ${cohort.length - 1} cohort rows, ${delta.length - 1} delta rows, ${audience.length - 1} existing contacts, ` +
    `${signups.length - 1} new signups`
)
