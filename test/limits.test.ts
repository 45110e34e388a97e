import { MAX_IN_FLIGHT_PER_ACCOUNT } from '../src/destinations/mailchimp-cohort/constants'
import { accountCapacity, withAccountSlot } from '../src/destinations/mailchimp-cohort/mailchimp/limits'

// One account's share of the process: at most MAX_IN_FLIGHT_PER_ACCOUNT requests at once, fewer once Mailchimp
// throttles, and back up one at a time while it does not.

type Answer = { status: number }
const throttled = (answer: Answer) => answer.status === 429

/** Starts `count` requests that stay in flight until `finish(i, status)` answers them; counts the peak in flight. */
function inFlight(account: string, count: number) {
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
      throttled
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
  it(`holds ${MAX_IN_FLIGHT_PER_ACCOUNT} at most while Mailchimp does not throttle`, async () => {
    const requests = inFlight('calm', 12)
    await settle()
    expect(requests.started()).toBe(MAX_IN_FLIGHT_PER_ACCOUNT)
    await requests.finishRest()
    expect(requests.peak()).toBe(MAX_IN_FLIGHT_PER_ACCOUNT)
    expect(accountCapacity('calm')).toBe(MAX_IN_FLIGHT_PER_ACCOUNT)
  })

  it('shrinks to what got through when two of its requests are throttled, and keeps to it', async () => {
    const first = inFlight('shared', MAX_IN_FLIGHT_PER_ACCOUNT)
    await settle()
    first.finish(0, 429)
    first.finish(1, 429)
    for (let i = 2; i < MAX_IN_FLIGHT_PER_ACCOUNT; i++) first.finish(i, 200)
    await first.all()
    expect(accountCapacity('shared')).toBe(MAX_IN_FLIGHT_PER_ACCOUNT - 2)

    const next = inFlight('shared', 10)
    await settle()
    expect(next.started()).toBe(MAX_IN_FLIGHT_PER_ACCOUNT - 2)
    await next.finishRest()
    expect(next.peak()).toBe(MAX_IN_FLIGHT_PER_ACCOUNT - 2)
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

  it('starts whole again after ten idle minutes, not before', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] })
    try {
      await withAccountSlot('idle', async () => ({ status: 429 }), throttled)
      jest.setSystemTime(Date.now() + 9 * 60_000)
      expect(accountCapacity('idle')).toBe(1)
      await withAccountSlot('idle', async () => ({ status: 200 }), throttled)
      jest.setSystemTime(Date.now() + 11 * 60_000)
      expect(accountCapacity('idle')).toBe(MAX_IN_FLIGHT_PER_ACCOUNT)
      const requests = inFlight('idle', 10)
      await settle()
      expect(requests.started()).toBe(MAX_IN_FLIGHT_PER_ACCOUNT)
      await requests.finishRest()
    } finally {
      jest.useRealTimers()
    }
  })
})
