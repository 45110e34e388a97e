/**
 * The progress bar on a terminal (stderr): the files being read, then the contacts being sent. The time left is shown
 * only once it means something (a few seconds in, a little done), from the rate so far; before that, none.
 */
import { SingleBar } from 'cli-progress'

const SETTLE_MS = 5000
const SETTLE_SHARE = 0.02

/** "about 40 s", "about 3 min", "about 1 h 20 min". */
export function aboutTime(ms: number): string {
  const seconds = Math.max(1, Math.round(ms / 1000))
  if (seconds < 60) return `about ${seconds} s`
  const minutes = Math.round(seconds / 60)
  if (minutes < 60) return `about ${minutes} min`
  return `about ${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** The time left, when enough has happened to tell; undefined before. */
export function timeLeft(elapsedMs: number, done: number, total: number): string | undefined {
  if (elapsedMs < SETTLE_MS || total <= 0 || done < total * SETTLE_SHARE || done <= 0) return undefined
  if (done >= total) return undefined
  return `${aboutTime(((total - done) * elapsedMs) / done)} left`
}

export class Progress {
  private bar?: SingleBar
  private phase?: { name: string; started: number }

  /** `terminal`: where the bar is drawn, when it is drawn at all. */
  constructor(private readonly terminal?: NodeJS.WritableStream) {}

  /** Bytes of the files read so far. */
  reading(bytes: number, total: number): void {
    this.show('Reading', 'MB', bytes / 1e6, total / 1e6)
  }

  /** Contacts settled so far. */
  sending(settled: number, total: number): void {
    this.show('Sending', 'contacts', settled, total)
  }

  /** Ends the bar and gives the terminal its cursor back. */
  stop(): void {
    this.bar?.stop()
    this.bar = undefined
    this.phase = undefined
  }

  private show(name: string, unit: string, value: number, total: number): void {
    if (!this.terminal) return
    if (this.phase?.name !== name) {
      this.stop()
      this.phase = { name, started: Date.now() }
      this.bar = new SingleBar({
        format: ` ${name} {bar} {shown} of {all} ${unit}  {left}`,
        hideCursor: true,
        stream: this.terminal
      })
      this.bar.start(total, 0, { shown: '0', all: figure(total), left: '' })
    }
    const elapsed = Date.now() - (this.phase?.started ?? Date.now())
    this.bar?.setTotal(total)
    this.bar?.update(value, { shown: figure(value), all: figure(total), left: timeLeft(elapsed, value, total) ?? '' })
  }
}

function figure(value: number): string {
  return Number.isInteger(value)
    ? value.toLocaleString('en-US')
    : value.toLocaleString('en-US', { maximumFractionDigits: 1 })
}
