/** A problem with the command line, the environment or an input file: nothing was sent, and the exit code is 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

/** Mailchimp could not be reached or failed for a moment before any row was synced: exit 1, try again later. */
export class TransientError extends Error {
  override name = 'TransientError'
}

/**
 * 0: every row landed; 1: some rows failed (or none could be sent for now); 2: usage or configuration, nothing sent;
 * 130: interrupted (partial report printed); 70: a bug.
 */
export const EXIT = { ok: 0, someFailed: 1, usage: 2, interrupted: 130, internal: 70 } as const

/**
 * Sorts an error from the destination before any row was synced: one that may pass on its own (429, 5xx, timeouts,
 * no answer) is transient; anything else (revoked token, unknown audience, a bad name) is the caller's to fix.
 */
export function beforeSync(error: unknown, context: string, transientHint: string): Error {
  const status = (error as { status?: number }).status
  const message = `${context}: ${error instanceof Error ? error.message : String(error)}`
  return status === undefined || status === 429 || status >= 500
    ? new TransientError(`${message} ${transientHint}`)
    : new UsageError(message)
}
