import { createReadStream } from 'fs'
import { stat } from 'fs/promises'
import { basename, extname } from 'path'
import { pipeline, Readable } from 'stream'
import { parse } from 'csv-parse'
import type { CsvError } from 'csv-parse'
import { UsageError } from './errors'

/** One row of an input file, as the sync will send it. */
export interface CohortRow {
  /** Where the row came from, for the report: `cohort.csv:12` (line numbers count the header; a record's first line). */
  source: string
  /** The email cell as written; the destination checks and trims it. */
  email: unknown
  /** true: the contact carries the tag afterwards; false: the tag is removed. */
  inCohort: boolean
  /** Why the row cannot be sent, when the file itself says something unusable about it. */
  problem?: string
  /** Values for the contact's merge fields, by merge tag. */
  mergeFields?: Record<string, unknown>
  /** The record as written in the file, line break included: what a file of failed rows repeats. */
  raw?: string
}

/** Where rows come from: a file read as a stream, as many times as the sync needs, or rows in memory. */
export interface RowSource {
  /** For the report and messages. */
  readonly name: string
  /** Which memberships its rows can carry: a file without a membership column holds one kind only. */
  readonly holds: { joiners: boolean; leavers: boolean }
  /** The rows in file order; `onBytes` hears how many bytes were read so far. */
  rows(onBytes?: (bytes: number) => void): AsyncIterable<CohortRow>
}

export interface ReadOptions {
  emailColumn: string
  /** A column of true/false telling members from leavers; absent: every row has `inCohort = defaultMembership`. */
  membershipColumn?: string
  /** Columns written into merge fields, by merge tag: `{ FNAME: 'first_name' }`. */
  mergeColumns?: Record<string, string>
  defaultMembership: boolean
}

export type FileFormat = 'csv' | 'jsonl'

/** The longest record read: far beyond a cohort export's, short enough that a file without line breaks stops at once. */
export const MAX_RECORD_CHARS = 64 * 1024
const CHUNK_BYTES = 64 * 1024

const LEADING_BREAKS = /^(?:\r\n|\n|\r)+/
const TRAILING_BREAK = /(?:\r\n|\n|\r)$/
const TRUE = new Set(['true', '1', 'yes', 'y', 'in'])
const FALSE = new Set(['false', '0', 'no', 'n', 'out'])
const n = (value: number) => value.toLocaleString('en-US')

interface NumberedRecord {
  /** The record's first line. */
  line: number
  get: (column: string) => unknown
  raw: string
  /** A JSON object's keys. */
  keys?: string[]
}

/**
 * A CSV (header row) or JSON Lines file of contacts, read as a stream each time its rows are asked for. Anything that
 * makes the whole file unusable (missing, not a regular file, empty, not UTF-8 text, a record over 64 KiB, unparsable,
 * a duplicate or missing column) is a UsageError; the first read of every file ends before anything is sent.
 */
export class CohortFile implements RowSource {
  readonly name: string
  readonly holds: { joiners: boolean; leavers: boolean }
  /** Known once read. */
  private format?: FileFormat
  /** A CSV file's header record as written (line break included), for a file of failed rows. */
  header?: string
  /** Size, time and inode at the first read: a file replaced between two reads is refused. */
  private identity?: string
  /** Merge tags and the columns they come from. */
  private readonly merge: [string, string][]

  constructor(
    readonly path: string,
    private readonly options: ReadOptions
  ) {
    this.name = basename(path)
    this.merge = Object.entries(options.mergeColumns ?? {})
    this.holds = options.membershipColumn
      ? { joiners: true, leavers: true }
      : { joiners: options.defaultMembership, leavers: !options.defaultMembership }
  }

  async *rows(onBytes?: (bytes: number) => void): AsyncGenerator<CohortRow> {
    await this.open()
    const text = decodedText(this.path, this.name, onBytes)
    const first = await text.next()
    const head = first.done ? '' : first.value
    this.format ??= formatOf(this.path, head)
    const chunks = prepend(head, text)
    const records = this.format === 'jsonl' ? jsonLines(chunks, this.name) : this.csvRecords(chunks)
    let count = 0
    const seen = new Set<string>()
    for await (const record of records) {
      count++
      if (this.format === 'jsonl' && seen.size < 100) for (const key of record.keys ?? []) seen.add(key)
      yield this.rowOf(record)
    }
    if (count === 0) {
      throw new UsageError(
        this.header === undefined
          ? `${this.name} is empty: it needs a header row and at least one contact.`
          : `${this.name} has a header row but no contacts.`
      )
    }
    // JSON Lines has no header: a column is missing only when no object has it.
    if (this.format === 'jsonl') this.checkColumns(seen)
  }

  private async open(): Promise<void> {
    let info
    try {
      info = await stat(this.path)
    } catch (error) {
      throw new UsageError(`Cannot read ${this.path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}.`)
    }
    if (!info.isFile()) {
      throw new UsageError(
        `${this.path} is not a regular file (a device, a pipe or a folder). The command reads its files twice, once to fold duplicate addresses and once to send, so save the cohort to a file first.`
      )
    }
    const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`
    if (this.identity !== undefined && identity !== this.identity) {
      throw new UsageError(`${this.name} changed while the command was reading it; nothing was sent. Run it again.`)
    }
    this.identity = identity
  }

  private async *csvRecords(chunks: AsyncIterable<string>): AsyncGenerator<NumberedRecord> {
    // `raw` is the text since the previous record: blank lines skipped before it, and its own line break after it.
    const parser = parse({ skip_empty_lines: true, trim: true, raw: true, max_record_size: MAX_RECORD_CHARS })
    pipeline(Readable.from(chunks), parser, () => undefined)
    let columns: Map<string, number> | undefined
    let nextLine = 1
    let breaks = '\n'
    try {
      for await (const { record, raw } of parser as AsyncIterable<{ record: string[]; raw: string }>) {
        const written = raw.replace(LEADING_BREAKS, '')
        const line = nextLine + lineBreaks(raw.slice(0, raw.length - written.length))
        nextLine += lineBreaks(raw)
        // csv-parse's raw text ends a CRLF record with its CR only: the record is written back with the file's break.
        const text = written.replace(TRAILING_BREAK, '')
        if (!columns) {
          columns = this.columnsOf(record)
          breaks = /\r\n?$/.test(written) ? '\r\n' : '\n'
          this.header = text + breaks
          continue
        }
        const at = columns
        yield { line, get: (column) => record[at.get(column) ?? -1], raw: text + breaks }
      }
    } catch (error) {
      if (error instanceof UsageError) throw error
      const csv = error as CsvError & { lines?: number }
      if (csv.code === 'CSV_MAX_RECORD_SIZE') {
        throw new UsageError(
          `${this.name}:${csv.lines ?? '?'} has a record over ${n(MAX_RECORD_CHARS)} characters: not a cohort export? Check the file (a quote left open makes the rest of the file one record).`
        )
      }
      throw new UsageError(`${this.name} is not valid CSV: ${csv.message}`)
    }
  }

  /** The header: names trimmed, each at most once, every column the options name present. */
  private columnsOf(header: string[]): Map<string, number> {
    const columns = new Map<string, number>()
    header.forEach((name, index) => {
      if (name === '') return
      const earlier = columns.get(name)
      if (earlier !== undefined) {
        throw new UsageError(
          `${this.name} has the column ${JSON.stringify(name)} twice (columns ${earlier + 1} and ${index + 1}): rename or remove one, so that no value is silently taken from the wrong one.`
        )
      }
      columns.set(name, index)
    })
    this.checkColumns(new Set(columns.keys()))
    return columns
  }

  private checkColumns(present: Set<string>): void {
    const { emailColumn, membershipColumn, mergeColumns = {} } = this.options
    const wanted: [string | undefined, string][] = [
      [emailColumn, '--email-column'],
      [membershipColumn, '--membership-column'],
      ...Object.entries(mergeColumns).map(([tag, column]): [string, string] => [column, `--merge-field ${tag}=…`])
    ]
    for (const [column, flag] of wanted) {
      if (column !== undefined && !present.has(column)) {
        const has = [...present].map((c) => JSON.stringify(c)).join(', ')
        throw new UsageError(
          `${this.name} has no column ${JSON.stringify(column)} (it has: ${has}). Name the right one with ${flag}.`
        )
      }
    }
  }

  private rowOf({ line, get, raw }: NumberedRecord): CohortRow {
    const { emailColumn, membershipColumn, defaultMembership } = this.options
    const row: CohortRow = { source: `${this.name}:${line}`, email: get(emailColumn), inCohort: defaultMembership, raw }
    const merge = this.merge
    if (merge.length > 0) row.mergeFields = Object.fromEntries(merge.map(([tag, column]) => [tag, get(column)]))
    if (membershipColumn === undefined) return row
    const cell = get(membershipColumn)
    const membership = typeof cell === 'boolean' ? cell : membershipOf(String(cell ?? ''))
    if (membership === undefined) {
      return {
        ...row,
        inCohort: false,
        problem: `Column ${JSON.stringify(membershipColumn)} holds ${JSON.stringify(cell ?? '')}: use true or false.`
      }
    }
    // Leavers lose the tag and nothing else: their merge fields are not written.
    const { mergeFields: _unused, ...leaver } = row
    return membership ? { ...row, inCohort: true } : { ...leaver, inCohort: false }
  }
}

/** Rows already in memory, as a source (the main job's, and tests'). */
export function rowsSource(name: string, rows: CohortRow[]): RowSource {
  return {
    name,
    holds: { joiners: rows.some((row) => row.inCohort), leavers: rows.some((row) => !row.inCohort) },
    rows: async function* () {
      yield* rows
    }
  }
}

/** Reads a whole file into memory: for the main job's small sample files. The command streams instead. */
export async function readCohortFile(path: string, options: ReadOptions): Promise<CohortRow[]> {
  const rows: CohortRow[] = []
  for await (const row of new CohortFile(path, options).rows()) rows.push(row)
  return rows
}

function membershipOf(value: string): boolean | undefined {
  const folded = value.trim().toLowerCase()
  if (TRUE.has(folded)) return true
  if (FALSE.has(folded)) return false
  return undefined
}

/**
 * The file as UTF-8 text, chunk by chunk. A NUL byte or an invalid sequence (a spreadsheet, an archive, another
 * encoding) stops the read at the chunk that shows it.
 */
async function* decodedText(path: string, name: string, onBytes?: (bytes: number) => void): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const notText = () =>
    new UsageError(`${name} is not a UTF-8 text file. Export the cohort as CSV (UTF-8) or JSON Lines.`)
  let bytes = 0
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    bytes += chunk.length
    onBytes?.(bytes)
    if (chunk.includes(0)) throw notText()
    let text: string
    try {
      text = decoder.decode(chunk, { stream: true })
    } catch {
      throw notText()
    }
    if (text !== '') yield text
  }
  try {
    const rest = decoder.decode()
    if (rest !== '') yield rest
  } catch {
    throw notText()
  }
}

async function* prepend(head: string, rest: AsyncIterator<string>): AsyncGenerator<string> {
  if (head !== '') yield head
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value
}

function formatOf(path: string, head: string): FileFormat {
  const extension = extname(path).toLowerCase()
  if (extension === '.jsonl' || extension === '.ndjson') return 'jsonl'
  if (extension === '.csv') return 'csv'
  return head.trimStart().startsWith('{') ? 'jsonl' : 'csv'
}

function lineBreaks(text: string): number {
  let count = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (code === 10 || (code === 13 && text.charCodeAt(i + 1) !== 10)) count++
  }
  return count
}

/** JSON Lines, one object a line, each line at most MAX_RECORD_CHARS. */
async function* jsonLines(chunks: AsyncIterable<string>, name: string): AsyncGenerator<NumberedRecord> {
  let line = 0
  let partial = ''
  const recordOf = (text: string) => {
    line++
    const body = text.replace(/\r$/, '')
    if (body.trim() === '') return undefined
    let value: unknown
    try {
      value = JSON.parse(body)
    } catch {
      throw new UsageError(`${name}:${line} is not valid JSON. Each line of a JSON Lines file is one object.`)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(`${name}:${line} is not a JSON object. Each line of a JSON Lines file is one object.`)
    }
    const record = value as Record<string, unknown>
    const own = (column: string) => (Object.prototype.hasOwnProperty.call(record, column) ? record[column] : undefined)
    return { line, get: own, raw: `${body}\n`, keys: Object.keys(record) }
  }
  const tooLong = () =>
    new UsageError(
      `${name}:${line + 1} is over ${n(MAX_RECORD_CHARS)} characters: not a cohort export? Check the file.`
    )
  for await (const chunk of chunks) {
    const pieces = (partial + chunk).split('\n')
    partial = pieces.pop() ?? ''
    for (const piece of pieces) {
      if (piece.length > MAX_RECORD_CHARS) throw tooLong()
      const record = recordOf(piece)
      if (record) yield record
    }
    if (partial.length > MAX_RECORD_CHARS) throw tooLong()
  }
  const last = recordOf(partial)
  if (last) yield last
}
