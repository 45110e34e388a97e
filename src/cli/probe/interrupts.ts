/** What a run stopped by Ctrl-C throws, so nothing mistakes it for Mailchimp's answer. */
export class Interrupted extends Error {
  override name = 'Interrupted'
  constructor() {
    super('interrupted')
  }
}

export interface Interrupts {
  /** Aborted by the first Ctrl-C (or SIGTERM, or the tests' signal): the scenario stops. */
  scenario: AbortSignal
  /** Aborted by a second one: the clean-up stops too, and the run says what it left behind. */
  cleanup: AbortSignal
  /** Stops listening; the process's own handling of the signals comes back. */
  release: () => void
}

/** Listens for Ctrl-C and SIGTERM while a run lasts, or for `external` when a test hands one in. */
export function listenForInterrupts(warn: (text: string) => void, external?: AbortSignal): Interrupts {
  const scenario = new AbortController()
  const cleanup = new AbortController()
  const onSignal = () => {
    if (!scenario.signal.aborted) {
      warn('\nInterrupted: removing what the probe created (press Ctrl-C again to stop the clean-up).\n')
      scenario.abort(new Interrupted())
    } else cleanup.abort(new Interrupted())
  }
  if (external?.aborted) onSignal()
  else if (external) external.addEventListener('abort', onSignal, { once: true })
  else {
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  }
  return {
    scenario: scenario.signal,
    cleanup: cleanup.signal,
    release: () => {
      external?.removeEventListener('abort', onSignal)
      process.off('SIGINT', onSignal)
      process.off('SIGTERM', onSignal)
    }
  }
}
