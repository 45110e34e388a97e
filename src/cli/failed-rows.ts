/**
 * `--failed-rows <path>`: the rows that did not land, as written in their file (CSV with its header, or JSON Lines),
 * so that the file can be synced again as it is. Failed rows of `--remove-file` go beside it, in `<name>-remove<ext>`,
 * as they must be removed again rather than added. Each file is written under a temporary name and renamed when the
 * run ends, so a run that stops with a usage error leaves no half-written file.
 */
import { createWriteStream, realpathSync } from 'fs'
import type { WriteStream } from 'fs'
import { rename, rm } from 'fs/promises'
import { basename, dirname, extname, join, resolve } from 'path'
import type { CohortFile } from './cohort-file'
import { UsageError } from './errors'
import type { IndexedRow } from './row-plan'

const FORMAT_OF_EXTENSION: Record<string, string> = { '.csv': 'csv', '.jsonl': 'jsonl', '.ndjson': 'jsonl' }

export interface WrittenFile {
  path: string
  rows: number
  /** The option of the file its rows came from. */
  of: '--file' | '--remove-file'
}

interface Output extends WrittenFile {
  source: CohortFile
  temporary: string
  stream?: WriteStream
  error?: Error
}

const realPath = (path: string) => {
  try {
    return realpathSync(path)
  } catch {
    return resolve(path)
  }
}

export class FailedRows {
  private constructor(private readonly outputs: Output[]) {}

  /** Checks the paths (never an input file, the input's format) before anything is read or sent. */
  static create(path: string, file: CohortFile, removeFile?: CohortFile): FailedRows {
    const extension = extname(path)
    const targets: [string, CohortFile, WrittenFile['of']][] = [[path, file, '--file']]
    if (removeFile) {
      const beside = join(dirname(path), `${basename(path, extension)}-remove${extname(removeFile.path) || extension}`)
      targets.push([beside, removeFile, '--remove-file'])
    }
    const inputs = new Set([file, removeFile].flatMap((source) => (source ? [realPath(source.path)] : [])))
    for (const [target, source, of] of targets) {
      if (inputs.has(realPath(target))) {
        throw new UsageError(`--failed-rows would overwrite ${target}, an input file: name another file.`)
      }
      const wanted = FORMAT_OF_EXTENSION[extname(source.path).toLowerCase()]
      const given = FORMAT_OF_EXTENSION[extname(target).toLowerCase()]
      if (wanted && given && wanted !== given) {
        throw new UsageError(
          `--failed-rows ${target} would hold rows of ${of} ${source.name} in its own format: name it with the extension ${extname(source.path)}.`
        )
      }
    }
    return new FailedRows(
      targets.map(([target, source, of]) => ({
        path: target,
        of,
        source,
        rows: 0,
        temporary: join(dirname(target), `.${basename(target)}.${process.pid}.tmp`)
      }))
    )
  }

  /** A row that did not land; rows from outside the files (the mirror's leavers) have no place here. */
  add({ row, sourceIndex }: IndexedRow): void {
    const output = this.outputs[sourceIndex]
    if (!output || row.raw === undefined) return
    output.rows++
    this.streamOf(output).write(row.raw)
  }

  /** Writes the files under their names: every one, even without rows, so that none is left from an earlier run. */
  async commit(): Promise<WrittenFile[]> {
    for (const output of this.outputs) await closed(this.streamOf(output))
    const failed = this.outputs.find((output) => output.error)
    if (failed) throw new Error(`Could not write ${failed.path}: ${failed.error?.message}`)
    for (const output of this.outputs) await rename(output.temporary, output.path)
    return this.outputs.map(({ path, rows, of }) => ({ path, rows, of }))
  }

  async discard(): Promise<void> {
    for (const output of this.outputs) {
      if (output.stream) await closed(output.stream)
      await rm(output.temporary, { force: true })
    }
  }

  private streamOf(output: Output): WriteStream {
    if (!output.stream) {
      output.stream = createWriteStream(output.temporary)
      output.stream.on('error', (error) => (output.error ??= error))
      if (output.source.header !== undefined) output.stream.write(output.source.header)
    }
    return output.stream
  }
}

function closed(stream: WriteStream): Promise<void> {
  return new Promise((done, fail) => {
    if (stream.closed || stream.destroyed) return done()
    stream.once('error', fail)
    stream.end(() => done())
  })
}
