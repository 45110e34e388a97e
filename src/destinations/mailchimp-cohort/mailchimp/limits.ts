import { MAX_IN_FLIGHT_PER_ACCOUNT } from '../constants'

/** Runs a request once a slot is free. */
export type Limiter = <T>(work: () => Promise<T>) => Promise<T>

/** At most `limit` pieces of work at once; the others wait their turn, first come first served. */
export function limiter(limit: number): Limiter {
  let active = 0
  const waiting: (() => void)[] = []
  const release = () => {
    const next = waiting.shift()
    // The slot goes straight to the next in line, so a newcomer cannot overtake it.
    if (next) next()
    else active--
  }
  return async <T>(work: () => Promise<T>): Promise<T> => {
    if (active < limit) active++
    else await new Promise<void>((resolve) => waiting.push(resolve))
    try {
      return await work()
    } finally {
      release()
    }
  }
}

/** Runs every task, at most `limit` at once, starting them in order. */
export async function runBounded(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  const slot = limiter(limit)
  await Promise.all(tasks.map((task) => slot(task)))
}

const accounts = new Map<string, { limit: Limiter; users: number }>()

/**
 * Runs a request within the account's share of this process: however many batches or tools run side by side, at
 * most MAX_IN_FLIGHT_PER_ACCOUNT requests of one Mailchimp account are in flight from here.
 */
export async function withAccountSlot<T>(account: string, work: () => Promise<T>): Promise<T> {
  let entry = accounts.get(account)
  if (!entry) {
    entry = { limit: limiter(MAX_IN_FLIGHT_PER_ACCOUNT), users: 0 }
    accounts.set(account, entry)
  }
  entry.users++
  try {
    return await entry.limit(work)
  } finally {
    if (--entry.users === 0) accounts.delete(account)
  }
}
