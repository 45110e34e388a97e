/**
 * The mirror's safety policy. A full resync untags everyone who carries the tag but is not in the file; a truncated
 * export or a typo must not empty a tag, so the mirror refuses to untag more than the allowed share of the tag unless
 * forced, and refuses when some rows have no usable address unless told to go ahead.
 */
import { mkdtemp, open, rm } from 'fs/promises'
import { tmpdir } from 'os'
import { join } from 'path'
import { checkEmail, foldEmail, tagMemberPages } from '../index'
import type { DestinationOptions } from '../index'
import { CohortFile } from './cohort-file'
import type { CohortRow, RowSource } from './cohort-file'
import { beforeSync } from './errors'
import type { FileIndex } from './row-plan'

/** A full resync: the tag ends up on exactly the file's contacts. */
export interface MirrorOptions {
  /** How the destination was built, to read the tag's members the same way. */
  options: DestinationOptions
  /** The largest share of the tag's contacts (0–1) a mirror may untag without `force`. */
  maxUntagShare: number
  force: boolean
  /** Go ahead although some rows have no usable address (their contacts may lose the tag). */
  ignoreBadRows: boolean
}

export interface MirrorSummary {
  /** Contacts carrying the tag before the sync. */
  tagMembers: number
  /** Of those, the ones missing from the file, which lose the tag. */
  toUntag: number
  examples: string[]
  /** Why the safety check refuses to go ahead, when it does. */
  refused?: string
}

export interface MirrorPlan {
  summary: MirrorSummary
  /** The contacts to untag, read back from a scratch file as the send needs them. */
  leavers: RowSource
  /** Deletes the scratch file. */
  dispose: () => Promise<void>
}

interface TagInput {
  token: string
  audienceId: string
  cohort: string
}

const EXAMPLES = 5

/** The tag's members a page at a time, as Mailchimp lists them: the mirror holds one page, however large the tag. */
function membersOf(input: TagInput, options: DestinationOptions): AsyncGenerator<string[]> {
  return tagMemberPages({ token: input.token, audienceId: input.audienceId, tagName: input.cohort }, options)
}

/** The key an address Mailchimp holds has in the file's index. */
function keyOf(email: string): string {
  const checked = checkEmail(email.trim())
  return checked.ok ? checked.key : foldEmail(email)
}

/**
 * Reads who carries the tag now; everyone missing from the file's index becomes a leaver, written to a scratch file
 * (not kept in memory). `refused` says why the policy will not go ahead, when it will not.
 */
export async function planMirror(input: TagInput, mirror: MirrorOptions, files: FileIndex): Promise<MirrorPlan> {
  const dir = await mkdtemp(join(tmpdir(), 'mailchimp-cohort-mirror-'))
  const dispose = () => rm(dir, { recursive: true, force: true })
  try {
    const path = join(dir, 'untag.jsonl')
    const scratch = await open(path, 'w')
    let tagMembers = 0
    const missing: string[] = []
    let toUntag = 0
    try {
      for await (const page of membersOf(input, mirror.options)) {
        tagMembers += page.length
        const leaving = page.filter((email) => files.index.get(keyOf(email)) === 0)
        toUntag += leaving.length
        missing.push(...leaving.slice(0, EXAMPLES - missing.length))
        if (leaving.length > 0) await scratch.write(leaving.map((email) => `${JSON.stringify({ email })}\n`).join(''))
      }
    } catch (error) {
      throw beforeSync(
        error,
        `Cannot read who carries the tag ${JSON.stringify(input.cohort)}`,
        'Nothing was sent; try again later.'
      )
    } finally {
      await scratch.close()
    }
    const refused = refusal(mirror, { tagMembers, toUntag }, files.unusable)
    return {
      summary: { tagMembers, toUntag, examples: missing, ...(refused ? { refused } : {}) },
      leavers: leaversFrom(path, input.cohort, toUntag),
      dispose
    }
  } catch (error) {
    await dispose()
    throw error
  }
}

/** Why the policy refuses, or undefined when it goes ahead. */
function refusal(
  mirror: MirrorOptions,
  { tagMembers, toUntag }: { tagMembers: number; toUntag: number },
  unusable: FileIndex['unusable']
): string | undefined {
  const share = tagMembers === 0 ? 0 : toUntag / tagMembers
  const percent = (value: number) => `${Math.round(value * 1000) / 10}%`
  const plural = unusable.rows > 1
  const reasons = [
    ...(share > mirror.maxUntagShare && !mirror.force
      ? [
          `--mirror would remove the tag from ${toUntag} of its ${tagMembers} contacts (${percent(share)}), more than the ${percent(mirror.maxUntagShare)} allowed. Check that the file holds the whole cohort; to go ahead, raise --max-untag or pass --force.`
        ]
      : []),
    // A row with a typo may stand for someone who carries the tag: a mirror would untag them.
    ...(unusable.rows > 0 && !mirror.ignoreBadRows
      ? [
          `${unusable.rows} row${plural ? 's' : ''} of the file ${plural ? 'have' : 'has'} no usable email address (e.g. ${unusable.example}), so --mirror cannot tell whom ${plural ? 'they' : 'it'} meant and might untag them. Fix the file, or pass --ignore-bad-rows.`
        ]
      : [])
  ]
  return reasons.length > 0 ? reasons.join(' ') : undefined
}

/** The scratch file's contacts as leavers, reported as coming from the tag. */
function leaversFrom(path: string, cohort: string, count: number): RowSource {
  const file = new CohortFile(path, { emailColumn: 'email', defaultMembership: false })
  const source = `tag ${JSON.stringify(cohort)}`
  return {
    name: source,
    holds: { joiners: false, leavers: count > 0 },
    rows: async function* () {
      if (count === 0) return
      for await (const row of file.rows()) {
        const { raw: _raw, ...leaver } = row
        yield { ...leaver, source } satisfies CohortRow
      }
    }
  }
}
