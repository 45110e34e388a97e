import { spawnSync } from 'child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'fs'
import { dirname, join, relative, resolve } from 'path'

const root = join(__dirname, '..')
const readme = join(root, 'README.md')
const docs = readdirSync(join(root, 'docs'))
  .filter((name) => name.endsWith('.md'))
  .map((name) => join(root, 'docs', name))
const pages = [readme, ...docs]

/** Markdown without its fenced code blocks: a `#` line in a shell example is not a heading. */
const withoutFences = (markdown: string) => markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')

/** Markdown without code blocks and code spans: a link written inside code is not a link. */
const prose = (markdown: string) => withoutFences(markdown).replace(/(`+)[^`\n]*?\1/g, '``')

/** The link targets of a page: inline links and images, `[text](target "title")`, and reference definitions. */
function linkTargets(markdown: string): string[] {
  const text = prose(markdown)
  const inline = [...text.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1])
  const references = [...text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/gm)].map((m) => m[1])
  return [...inline, ...references]
}

/** GitHub's anchor for a heading: its text, lower-cased, without punctuation, spaces as hyphens; repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>()
  const result = new Set<string>()
  const headings = withoutFences(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$/gm)
  for (const [, heading] of headings) {
    const text = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1') // a link's text
      .replace(/<[^>]+>/g, '') // HTML tags
      .replace(/[`*]/g, '') // code and emphasis marks
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-')
    const count = seen.get(base) ?? 0
    seen.set(base, count + 1)
    result.add(count === 0 ? base : `${base}-${count}`)
  }
  for (const [, id] of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) result.add(id)
  return result
}

describe('the README and docs/', () => {
  const bytes = readFileSync(readme)

  it('keep the README short: at most 15,000 bytes, no line over 120 characters', () => {
    expect(bytes.length).toBeLessThanOrEqual(15_000)
    const long = bytes
      .toString('utf8')
      .split('\n')
      .map((line, i) => ({ line: i + 1, length: [...line].length }))
      .filter(({ length }) => length > 120)
    expect(long).toEqual([])
  })

  it('link only to files and headings that exist', () => {
    const broken: string[] = []
    let checked = 0
    for (const page of pages) {
      for (const target of linkTargets(readFileSync(page, 'utf8'))) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) continue // another site
        checked++
        const [path, anchor] = target.split('#') as [string, string | undefined]
        const file = path === '' ? page : resolve(dirname(page), decodeURIComponent(path))
        const where = `${relative(root, page)} → ${target}`
        if (!existsSync(file)) broken.push(`${where}: no such file`)
        else if (anchor !== undefined) {
          if (!statSync(file).isFile() || !file.endsWith('.md'))
            broken.push(`${where}: an anchor into a non-markdown file`)
          else if (!anchors(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor)))
            broken.push(`${where}: no such heading`)
        }
      }
    }
    expect(broken).toEqual([])
    expect(checked).toBeGreaterThan(20)
  })

  it('stand on their own: nothing points at notes outside the repository', () => {
    for (const page of pages) expect(readFileSync(page, 'utf8')).not.toMatch(/MAILCHIMP\.md|CONTRACT\.md|STYLE\.md/)
  })

  it('make headings into anchors as GitHub does', () => {
    const slugs = anchors(
      '# The command: `mailchimp-cohort`\n## For hosts\n## For hosts\n```\n# not a heading\n```\n### Über **bold** [x](y)'
    )
    expect([...slugs]).toEqual(['the-command-mailchimp-cohort', 'for-hosts', 'for-hosts-1', 'über-bold-x'])
  })
})

describe("the README's command examples", () => {
  /**
   * The README's `--json` example, run as written (a shell pipeline from the clone's root) with its `| jq …` tail
   * replaced by a JSON reader in Node: npm must print nothing of its own on stdout, so the whole stdout is one JSON
   * document, and the command must land every row of the sample in the sandbox.
   */
  it('`--json` prints only JSON on stdout, which a JSON reader takes whole', () => {
    const lines = readFileSync(readme, 'utf8').split('\n')
    const example = lines.find((line) => line.startsWith('npm run -s cli -- ') && line.includes(' --json'))
    expect(example).toBeDefined()
    const command = example!.replace(/\s*\|\s*jq\b.*$/, '')
    const reader = `node -e "let s='';process.stdin.on('data',(d)=>(s+=d)).on('end',()=>{const r=JSON.parse(s);console.log(JSON.stringify(Object.keys(r)))})"`

    const { MAILCHIMP_ACCESS_TOKEN: _token, MAILCHIMP_API_KEY: _key, ...env } = process.env
    const pipeline = (line: string) =>
      spawnSync('bash', ['-c', `set -o pipefail; ${line} | ${reader}`], { cwd: root, env, encoding: 'utf8' })
    let run = pipeline(command)
    // TODO(merge): the rewritten command has --sandbox; until this branch has it, a sandbox is what it uses without
    // credentials. Drop this fallback after the merge.
    if (run.status !== 0 && /unknown option '--sandbox'/.test(run.stderr)) {
      run = pipeline(command.replace(' --sandbox', ''))
    }
    expect(run.stderr).not.toMatch(/SyntaxError|Unexpected token/)
    expect(run.status).toBe(0)
    expect(JSON.parse(run.stdout).length).toBeGreaterThan(0)
  }, 60_000)
})
