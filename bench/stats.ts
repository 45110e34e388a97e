import { cpus, release, totalmem, type } from 'os'

export interface Summary {
  median: number
  min: number
  max: number
  runs: number
}

/** A row of the bench's table: a figure, its runs summarized, what stands beside it, its goal and whether it is met. */
export interface Row {
  figure: string
  n: string
  summary: Summary
  format: (value: number) => string
  beside: string
  goal: string
  /** '' when the figure has no goal; 'yes', or 'NO' with by how much. */
  met: string
}

export function summarize(values: number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  const median = sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: sorted.length }
}

export function machine(): string {
  const cores = cpus()
  const memory = Math.round(totalmem() / 2 ** 30)
  return `${cores[0]?.model.trim() ?? 'unknown CPU'}, ${cores.length} cores, ${memory} GiB, ${type()} ${release()}, Node ${process.version}`
}

/** CPU time (user + system) spent by this process while `work` ran, in milliseconds. */
export async function cpuTimeOf(work: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage()
  await work()
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}
