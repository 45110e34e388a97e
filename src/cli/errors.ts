/** A problem with the command line, the environment or an input file: nothing was sent, and the exit code is 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const EXIT = { ok: 0, someFailed: 1, usage: 2 } as const
