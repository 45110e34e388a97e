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

/**
 * Runs `work` over every item, at most `limit` at once, starting them in order; each worker takes the next item when it
 * is free, so an async source (a file read as it goes) is pulled no faster than the work drains it. The first failure
 * stops new work and is thrown once the work in flight has ended.
 */
export async function eachBounded<T>(
  items: Iterable<T> | AsyncIterable<T>,
  limit: number,
  work: (item: T, index: number) => Promise<void>
): Promise<void> {
  const iterator =
    Symbol.asyncIterator in items ? items[Symbol.asyncIterator]() : (items as Iterable<T>)[Symbol.iterator]()
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async () => {
    while (!failure) {
      // Numbered when asked for: sources answer in the order they are asked.
      const index = next++
      const step = await iterator.next()
      if (step.done || failure) return
      try {
        await work(step.value, index)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker))
  if (failure) throw failure.error
}

/**
 * One account's share of this process. Mailchimp counts connections per user, and the account's other integrations
 * use some: when Mailchimp throttles, the share shrinks to what got through, then grows back one request at a time.
 */
interface AccountShare {
  capacity: number
  active: number
  waiting: (() => void)[]
  /** Answers since the last change of capacity that were not throttled. */
  clear: number
  /** When the share last fell idle; a throttled share idle for long starts whole again. */
  idleSince?: number
}

/** A throttled share tries one more request in flight after this many unthrottled answers per request it holds. */
const PROBE_AFTER_WINDOWS = 10
/** What Mailchimp taught about an account's free connections is stale after this long without a request. */
const FORGET_AFTER_MS = 10 * 60 * 1000

const accounts = new Map<string, AccountShare>()

/** Only shrunk shares outlive their last request, so this many idle ones means it is time to drop the stale. */
const SWEEP_ABOVE = 100

const isStale = (share: AccountShare) => share.idleSince !== undefined && Date.now() - share.idleSince > FORGET_AFTER_MS

function shareOf(account: string): AccountShare {
  let share = accounts.get(account)
  if (share && isStale(share)) share = undefined
  if (!share) {
    if (accounts.size > SWEEP_ABOVE) for (const [other, idle] of accounts) if (isStale(idle)) accounts.delete(other)
    share = { capacity: MAX_IN_FLIGHT_PER_ACCOUNT, active: 0, waiting: [], clear: 0 }
    accounts.set(account, share)
  }
  return share
}

function admitWaiting(share: AccountShare): void {
  while (share.active < share.capacity && share.waiting.length > 0) {
    share.active++
    share.waiting.shift()!()
  }
}

function learn(share: AccountShare, throttled: boolean): void {
  if (throttled) {
    // What was in flight, this request included, was too many: keep one fewer (never none).
    share.capacity = Math.max(1, Math.min(share.capacity, share.active - 1))
    share.clear = 0
  } else if (share.capacity < MAX_IN_FLIGHT_PER_ACCOUNT && ++share.clear >= share.capacity * PROBE_AFTER_WINDOWS) {
    share.capacity++
    share.clear = 0
  }
}

function release(account: string, share: AccountShare): void {
  share.active--
  admitWaiting(share)
  if (share.active > 0 || share.waiting.length > 0) return
  // An idle account whose share is whole again is forgotten; a throttled one keeps what it learned for a while.
  if (share.capacity === MAX_IN_FLIGHT_PER_ACCOUNT) accounts.delete(account)
  else share.idleSince = Date.now()
}

/**
 * Runs a request within the account's share of this process: however many batches or tools run side by side, at
 * most MAX_IN_FLIGHT_PER_ACCOUNT requests of one Mailchimp account are in flight from here, and fewer after Mailchimp
 * throttled (`throttled` tells from the answer).
 */
export async function withAccountSlot<T>(
  account: string,
  work: () => Promise<T>,
  throttled: (answer: T) => boolean = () => false
): Promise<T> {
  const share = shareOf(account)
  share.idleSince = undefined
  if (share.active < share.capacity) share.active++
  else await new Promise<void>((resolve) => share.waiting.push(resolve))
  try {
    const answer = await work()
    // Only an answer teaches anything: a reset or a timeout says nothing about Mailchimp's connection cap.
    learn(share, throttled(answer))
    return answer
  } finally {
    release(account, share)
  }
}

/** The number of requests one account may have in flight from this process now. */
export function accountCapacity(account: string): number {
  const share = accounts.get(account)
  return share && !isStale(share) ? share.capacity : MAX_IN_FLIGHT_PER_ACCOUNT
}

/** Forgets every account's learned share: for tests, which must not inherit one another's throttles. */
export function forgetAccountShares(): void {
  accounts.clear()
}
