import { readFile } from 'fs/promises'
import { basename, extname } from 'path'
import { parse } from 'csv-parse/sync'
import { UsageError } from './errors'

/** One row of an input file, as the sync will send it. */
export interface CohortRow {
  /** Where the row came from, for the report: `cohort.csv:12` (line numbers count the header). */
  source: string
  /** The email cell as written; the destination checks and trims it. */
  email: unknown
  /** true: the contact carries the tag afterwards; false: the tag is removed. */
  inCohort: boolean
  /** Why the row cannot be sent, when the file itself says something unusable about it. */
  problem?: string
  /** Values for the contact's merge fields, by merge tag. */
  mergeFields?: Record<string, unknown>
}

interface ReadOptions {
  emailColumn: string
  /** A column of true/false telling members from leavers; absent: every row has `inCohort = defaultMembership`. */
  membershipColumn?: string
  /** Columns written into merge fields, by merge tag: `{ FNAME: 'first_name' }`. */
  mergeColumns?: Record<string, string>
  defaultMembership: boolean
}

const TRUE = new Set(['true', '1', 'yes', 'y', 'in'])
const FALSE = new Set(['false', '0', 'no', 'n', 'out'])

/**
 * Reads a CSV (header row) or JSON Lines file of contacts. Anything that makes the whole file unusable (missing, empty,
 * not text, unparsable, no such column) is a UsageError, raised before anything is sent.
 */
export async function readCohortFile(path: string, options: ReadOptions): Promise<CohortRow[]> {
  const name = basename(path)
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (error) {
    throw new UsageError(`Cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`)
  }
  const text = decodeText(bytes, name)
  if (text.trim() === '') throw new UsageError(`${name} is empty: it needs a header row and at least one contact.`)
  const records = isJsonLines(path, text) ? parseJsonLines(text, name) : parseCsv(text, name)
  if (records.length === 0) throw new UsageError(`${name} has a header row but no contacts.`)

  const columns = new Set(records.flatMap(({ record }) => Object.keys(record)))
  const merge = Object.entries(options.mergeColumns ?? {})
  for (const [column, flag] of [
    [options.emailColumn, '--email-column'],
    [options.membershipColumn, '--membership-column'],
    ...merge.map(([tag, column]) => [column, `--merge-field ${tag}=…`] as const)
  ] as const) {
    if (column !== undefined && !columns.has(column)) {
      throw new UsageError(
        `${name} has no column ${JSON.stringify(column)} (it has: ${[...columns].map((c) => JSON.stringify(c)).join(', ')}). Name the right one with ${flag}.`
      )
    }
  }

  return records.map(({ line, record }) => {
    const row: CohortRow = {
      source: `${name}:${line}`,
      email: record[options.emailColumn],
      inCohort: options.defaultMembership,
      ...(merge.length > 0
        ? { mergeFields: Object.fromEntries(merge.map(([tag, column]) => [tag, record[column]])) }
        : {})
    }
    if (options.membershipColumn === undefined) return row
    const raw = record[options.membershipColumn]
    const membership = typeof raw === 'boolean' ? raw : membershipOf(String(raw ?? ''))
    if (membership === undefined) {
      return {
        ...row,
        inCohort: false,
        problem: `Column ${JSON.stringify(options.membershipColumn)} holds ${JSON.stringify(raw ?? '')}: use true or false.`
      }
    }
    // Leavers lose the tag and nothing else: their merge fields are not written.
    const { mergeFields: _unused, ...leaver } = row
    return membership ? { ...row, inCohort: true } : { ...leaver, inCohort: false }
  })
}

function membershipOf(value: string): boolean | undefined {
  const folded = value.trim().toLowerCase()
  if (TRUE.has(folded)) return true
  if (FALSE.has(folded)) return false
  return undefined
}

/** UTF-8 text only: a NUL byte or an invalid sequence means a spreadsheet, an archive or another encoding. */
function decodeText(bytes: Buffer, name: string): string {
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    text = '\0'
  }
  if (text.includes('\0')) {
    throw new UsageError(`${name} is not a UTF-8 text file. Export the cohort as CSV (UTF-8) or JSON Lines.`)
  }
  return text.replace(/^\uFEFF/, '')
}

function isJsonLines(path: string, text: string): boolean {
  const extension = extname(path).toLowerCase()
  if (extension === '.jsonl' || extension === '.ndjson') return true
  if (extension === '.csv') return false
  return text.trimStart().startsWith('{')
}

interface NumberedRecord {
  line: number
  record: Record<string, unknown>
}

function parseCsv(text: string, name: string): NumberedRecord[] {
  try {
    const rows: { info: { lines: number }; record: Record<string, string> }[] = parse(text, {
      columns: (header: string[]) => header.map((column) => column.trim()),
      skip_empty_lines: true,
      trim: true,
      bom: true,
      info: true
    })
    return rows.map(({ info, record }) => ({ line: info.lines, record }))
  } catch (error) {
    throw new UsageError(`${name} is not valid CSV: ${(error as Error).message}`)
  }
}

function parseJsonLines(text: string, name: string): NumberedRecord[] {
  const records: NumberedRecord[] = []
  text.split(/\r?\n/).forEach((raw, index) => {
    if (raw.trim() === '') return
    let value: unknown
    try {
      value = JSON.parse(raw)
    } catch {
      throw new UsageError(`${name}:${index + 1} is not valid JSON. Each line of a JSON Lines file is one object.`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`${name}:${index + 1} is not a JSON object. Each line of a JSON Lines file is one object.`)
    }
    records.push({ line: index + 1, record: value as Record<string, unknown> })
  })
  return records
}
