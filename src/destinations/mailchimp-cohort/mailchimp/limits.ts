import { INITIAL_SHARE, MAILCHIMP_CONNECTIONS } from '../constants'

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
 * One account's share of this process. Mailchimp counts connections per user, and the account's other apps use some:
 * the share starts under Mailchimp's limit, grows to the ceiling while answers come back unthrottled, shrinks to what
 * got through when Mailchimp throttles, then grows back more cautiously.
 */
interface AccountShare {
  capacity: number
  /** The embedding program's ceiling (1–10). */
  ceiling: number
  active: number
  waiting: (() => void)[]
  /** Answers since the last change of capacity that were not throttled. */
  clear: number
  /** Whether Mailchimp has throttled this account: growth is then ten times slower. */
  throttled: boolean
  /** When the share last fell idle; a share idle for long starts afresh. */
  idleSince?: number
}

/** An unthrottled share grows by one after this many clear answers per request it holds; a throttled one, ten. */
const GROW_AFTER = { calm: 1, throttled: 10 } as const
/** What Mailchimp taught about an account's free connections is stale after this long without a request. */
const FORGET_AFTER_MS = 10 * 60 * 1000

const accounts = new Map<string, AccountShare>()

/** Idle shares outlive their last request for a while; this many means it is time to drop the stale ones. */
const SWEEP_ABOVE = 100

const isStale = (share: AccountShare) => share.idleSince !== undefined && Date.now() - share.idleSince > FORGET_AFTER_MS

function shareOf(account: string, ceiling: number): AccountShare {
  let share = accounts.get(account)
  if (share && isStale(share)) share = undefined
  if (!share) {
    if (accounts.size > SWEEP_ABOVE) for (const [other, idle] of accounts) if (isStale(idle)) accounts.delete(other)
    const capacity = Math.min(INITIAL_SHARE, ceiling)
    share = { capacity, ceiling, active: 0, waiting: [], clear: 0, throttled: false }
    accounts.set(account, share)
  } else if (share.ceiling !== ceiling) {
    share.ceiling = ceiling
    share.capacity = Math.min(share.capacity, ceiling)
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
    share.throttled = true
  } else if (
    share.capacity < share.ceiling &&
    ++share.clear >= share.capacity * GROW_AFTER[share.throttled ? 'throttled' : 'calm']
  ) {
    share.capacity++
    share.clear = 0
    admitWaiting(share)
  }
}

function release(share: AccountShare): void {
  share.active--
  admitWaiting(share)
  if (share.active === 0 && share.waiting.length === 0) share.idleSince = Date.now()
}

/**
 * Runs a request within the account's share of this process: however many batches or tools run side by side, at most
 * the share's capacity of one Mailchimp account's requests are in flight from here (`throttled` tells from the
 * answer whether Mailchimp throttled it). `ceiling` is the embedding program's maximum, 1 to 10.
 */
export async function withAccountSlot<T>(
  account: string,
  work: () => Promise<T>,
  throttled: (answer: T) => boolean = () => false,
  ceiling: number = MAILCHIMP_CONNECTIONS
): Promise<T> {
  const share = shareOf(account, ceiling)
  share.idleSince = undefined
  if (share.active < share.capacity) share.active++
  else await new Promise<void>((resolve) => share.waiting.push(resolve))
  try {
    const answer = await work()
    // Only an answer teaches anything: a reset or a timeout says nothing about Mailchimp's connection cap.
    learn(share, throttled(answer))
    return answer
  } finally {
    release(share)
  }
}

/** The number of requests one account may have in flight from this process now. */
export function accountCapacity(account: string): number {
  const share = accounts.get(account)
  return share && !isStale(share) ? share.capacity : INITIAL_SHARE
}

/** Forgets every account's learned share: for tests, which must not inherit one another's throttles. */
export function forgetAccountShares(): void {
  accounts.clear()
}
