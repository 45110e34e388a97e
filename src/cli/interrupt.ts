/**
 * Ctrl-C and SIGTERM. The first one asks the run to stop (`signal` aborts): no new batch is sent, those in flight
 * finish within a bound, and the partial report is printed. The second one leaves at once, after the exit hooks (the
 * progress bar gives the cursor back).
 */
export class Interrupt {
  private readonly controller = new AbortController()
  private readonly hooks = new Set<() => void>()
  private received = 0

  /** Aborted by the first signal. */
  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Counts a signal; true when it is the second, which must end the process at once. */
  receive(): boolean {
    this.received++
    if (this.received === 1) this.controller.abort()
    return this.received > 1
  }

  /** Runs before a second signal ends the process; returns its removal. */
  onExit(hook: () => void): () => void {
    this.hooks.add(hook)
    return () => this.hooks.delete(hook)
  }

  runExitHooks(): void {
    for (const hook of this.hooks) {
      try {
        hook()
      } catch {
        // Leaving anyway.
      }
    }
  }
}

/** Wires SIGINT and SIGTERM of this process to `interrupt`; the second one exits with `code` at once. */
export function listenForSignals(interrupt: Interrupt, code: number): void {
  for (const name of ['SIGINT', 'SIGTERM'] as const) {
    process.on(name, () => {
      if (!interrupt.receive()) return
      interrupt.runExitHooks()
      process.exit(code)
    })
  }
}
