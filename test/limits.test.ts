import { INITIAL_SHARE, MAILCHIMP_CONNECTIONS } from '../src/destinations/mailchimp-cohort/constants'
import { accountCapacity, withAccountSlot } from '../src/destinations/mailchimp-cohort/mailchimp/limits'

// One account's share of the process: INITIAL_SHARE requests at once to start with, up to Mailchimp's 10 (or the
// embedding program's ceiling) while Mailchimp does not throttle, fewer once it throttles, and back up slowly.

type Answer = { status: number }
const throttled = (answer: Answer) => answer.status === 429

/** Starts `count` requests that stay in flight until `finish(i, status)` answers them; counts the peak in flight. */
function inFlight(account: string, count: number, ceiling?: number) {
  const answers: ((answer: Answer) => void)[] = []
  let active = 0
  let peak = 0
  const done = Array.from({ length: count }, () =>
    withAccountSlot(
      account,
      () =>
        new Promise<Answer>((resolve) => {
          peak = Math.max(peak, ++active)
          answers.push((answer) => {
            active--
            resolve(answer)
          })
        }),
      throttled,
      ceiling
    )
  )
  return {
    started: () => answers.length,
    peak: () => peak,
    finish: (i: number, status: number) => answers[i]({ status }),
    all: () => Promise.all(done),
    /** Answers request `from` and every later one unthrottled, each once it has started, then waits for them all. */
    async finishRest(from = 0) {
      for (let i = from; i < count; i++) {
        await settle()
        answers[i]({ status: 200 })
      }
      await Promise.all(done)
    }
  }
}

const settle = () => new Promise((resolve) => setImmediate(resolve))

describe('an account’s share of requests in flight', () => {
  it(`starts at ${INITIAL_SHARE} and grows to Mailchimp's ${MAILCHIMP_CONNECTIONS} while nothing is throttled`, async () => {
    const requests = inFlight('calm', 40)
    await settle()
    expect(requests.started()).toBe(INITIAL_SHARE)
    // One more in flight after as many clear answers as the share holds: 8 answers to reach 9, 9 more to reach 10.
    for (let i = 0; i < INITIAL_SHARE - 1; i++) requests.finish(i, 200)
    await settle()
    expect(accountCapacity('calm')).toBe(INITIAL_SHARE)
    requests.finish(INITIAL_SHARE - 1, 200)
    await settle()
    expect(accountCapacity('calm')).toBe(INITIAL_SHARE + 1)
    await requests.finishRest(INITIAL_SHARE)
    expect(requests.peak()).toBe(MAILCHIMP_CONNECTIONS)
    expect(accountCapacity('calm')).toBe(MAILCHIMP_CONNECTIONS)
  })

  it('never passes the ceiling the embedding program sets, and starts under it when it is low', async () => {
    const low = inFlight('low ceiling', 30, 5)
    await settle()
    expect(low.started()).toBe(5)
    await low.finishRest()
    expect(low.peak()).toBe(5)

    const nine = inFlight('nine', 40, 9)
    await settle()
    expect(nine.started()).toBe(INITIAL_SHARE)
    await nine.finishRest()
    expect(nine.peak()).toBe(9)
    expect(accountCapacity('nine')).toBe(9)
  })

  it('shrinks to what got through when two of its requests are throttled, and keeps to it', async () => {
    const first = inFlight('shared', INITIAL_SHARE)
    await settle()
    first.finish(0, 429)
    first.finish(1, 429)
    for (let i = 2; i < INITIAL_SHARE; i++) first.finish(i, 200)
    await first.all()
    expect(accountCapacity('shared')).toBe(INITIAL_SHARE - 2)

    // Growing back takes ten clear answers per request held once Mailchimp has throttled: 40 stay at 6.
    const next = inFlight('shared', 40)
    await settle()
    expect(next.started()).toBe(INITIAL_SHARE - 2)
    await next.finishRest()
    expect(next.peak()).toBe(INITIAL_SHARE - 2)
  })

  it('is throttled at most 4 times when, grown to 10, it meets an account with only 6 connections free', async () => {
    const grow = inFlight('grown', 30)
    await grow.finishRest()
    expect(accountCapacity('grown')).toBe(MAILCHIMP_CONNECTIONS)

    // A Mailchimp with 6 connections free: a request beyond them is throttled at once, the others answered in turn.
    let accepted = 0
    let throttles = 0
    const held: (() => void)[] = []
    const requests = Array.from({ length: 40 }, () =>
      withAccountSlot(
        'grown',
        () =>
          new Promise<Answer>((resolve) => {
            if (accepted >= 6) {
              throttles++
              setImmediate(() => resolve({ status: 429 }))
              return
            }
            accepted++
            held.push(() => {
              accepted--
              resolve({ status: 200 })
            })
          }),
        throttled
      )
    )
    // The share admits its first requests at once; each answer lets the next ones in.
    while (held.length > 0) {
      held.shift()?.()
      await settle()
    }
    const answers = await Promise.all(requests)
    expect(throttles).toBeGreaterThan(0)
    expect(throttles).toBeLessThanOrEqual(MAILCHIMP_CONNECTIONS - 6)
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(throttles)
    expect(accountCapacity('grown')).toBeLessThanOrEqual(6)
  })

  it('grows back by one after ten unthrottled answers per request it holds', async () => {
    const throttle = inFlight('recovering', 3)
    await settle()
    throttle.finish(0, 429)
    await settle()
    expect(accountCapacity('recovering')).toBe(2)
    // The two answers still in flight count among the twenty.
    throttle.finish(1, 200)
    throttle.finish(2, 200)
    await throttle.all()

    const calm = async (count: number) => {
      for (let i = 0; i < count; i++) await withAccountSlot('recovering', async () => ({ status: 200 }), throttled)
    }
    await calm(17)
    expect(accountCapacity('recovering')).toBe(2)
    await calm(1)
    expect(accountCapacity('recovering')).toBe(3)
  })

  it('never goes below one request in flight', async () => {
    await withAccountSlot('crowded', async () => ({ status: 429 }), throttled)
    await withAccountSlot('crowded', async () => ({ status: 429 }), throttled)
    expect(accountCapacity('crowded')).toBe(1)
    const requests = inFlight('crowded', 3)
    await settle()
    expect(requests.started()).toBe(1)
    await requests.finishRest()
  })

  it('admits every waiter the grown share allows', async () => {
    await withAccountSlot('growing', async () => ({ status: 429 }), throttled)
    for (let i = 0; i < 9; i++) await withAccountSlot('growing', async () => ({ status: 200 }), throttled)
    expect(accountCapacity('growing')).toBe(1)
    const requests = inFlight('growing', 6)
    await settle()
    expect(requests.started()).toBe(1)
    // The tenth clear answer grows the share to two: two waiters go, not one.
    requests.finish(0, 200)
    await settle()
    expect(accountCapacity('growing')).toBe(2)
    expect(requests.started()).toBe(3)
    await requests.finishRest(1)
  })

  it('counts a request that got no answer as neither throttled nor clear', async () => {
    await withAccountSlot('unreachable', async () => ({ status: 429 }), throttled)
    for (let i = 0; i < 20; i++) {
      await withAccountSlot('unreachable', () => Promise.reject(new Error('reset')), throttled).catch(() => undefined)
    }
    expect(accountCapacity('unreachable')).toBe(1)
  })

  it('starts afresh after ten idle minutes, not before', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] })
    try {
      await withAccountSlot('idle', async () => ({ status: 429 }), throttled)
      jest.setSystemTime(Date.now() + 9 * 60_000)
      expect(accountCapacity('idle')).toBe(1)
      await withAccountSlot('idle', async () => ({ status: 200 }), throttled)
      jest.setSystemTime(Date.now() + 11 * 60_000)
      expect(accountCapacity('idle')).toBe(INITIAL_SHARE)
      const requests = inFlight('idle', 10)
      await settle()
      expect(requests.started()).toBe(INITIAL_SHARE)
      await requests.finishRest()
    } finally {
      jest.useRealTimers()
    }
  })
})
