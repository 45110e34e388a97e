/**
 * CPU: host-process CPU per 1,000 events through actions-core's executeBatch for three arms with the same fields:
 * syncCohort, the minimal plugin (the same requests through the same client, nothing else: the fair floor) and a
 * no-op action (actions-core's own cost). Measured round by round, each arm first in turn, so that all three see the
 * same machine weather; answers lean or at Mailchimp's size.
 *
 * Each arm starts `warm` by default, as a host that runs batches back to back is: the young generation is collected
 * (the last arm's short-lived garbage is not charged to this one) and two batches of the arm run unmeasured. Started
 * `cold`, each arm follows a full collection instead and is measured at once: V8 then discards the optimized code of
 * every hidden class that died with the last arm's objects, and a third or more of the arm's CPU is its JIT compiling
 * that code again on background threads. That is what a host pays once after an idle spell, not per event; the bench
 * reports it beside the warm figure (docs/benchmarks.md).
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { connect, email, engage, expectAllLanded, host, HOST_BATCH_SIZE, noOpDestination } from './host'
import type { Host } from './host'
import { minimalDestination } from './minimal'
import type { SandboxProcess } from './sandbox-process'
import { cpuTimeOf } from './stats'

export const ARMS = ['syncCohort', 'minimal', 'noOp'] as const
export type Arm = (typeof ARMS)[number]
export type CpuRound = Record<Arm, number>
export type ArmStart = 'warm' | 'cold'

/** Events per measured arm, in host batches of 1,000; figures are per 1,000. */
export const EVENTS_PER_ARM = 10_000
/** Batches an arm runs unmeasured before each warm measurement: its code is optimized again by then. */
const WARM_UP_BATCHES = 2
/** Rounds run first and not measured: module loading and the JIT's first warm-up are nobody's steady cost. */
const WARM_UP_ROUNDS = 3

type Collect = (options?: { type: 'major' | 'minor' }) => void
/** `node --expose-gc` gives it; without it nothing is collected on purpose. */
const gc = (globalThis as { gc?: Collect }).gc ?? (() => undefined)

export async function cpuRounds(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  rounds: number,
  answers: 'lean' | 'mailchimp',
  start: ArmStart = 'warm'
): Promise<CpuRound[]> {
  await sandbox.setAnswers(answers)
  const audienceId = await sandbox.addAudience(`cpu ${answers} ${start}`)
  const tagId = await connect(definition, sandbox.token, audienceId)
  const hosts: Record<Arm, Host> = {
    syncCohort: host(definition, sandbox.token, audienceId),
    minimal: host(minimalDestination(definition, sandbox.endpoints), sandbox.token, audienceId),
    noOp: host(noOpDestination(definition), sandbox.token, audienceId)
  }
  let next = 0
  // Every batch brings new contacts, so each arm does a first sync's full work each time.
  const events = (count: number) =>
    Array.from({ length: count }, () => engage(email(`cpu-${answers}-${start}`, next++), true, tagId))
  const perThousand = async (arm: Arm) => {
    const measured = events(EVENTS_PER_ARM)
    if (start === 'cold') gc({ type: 'major' })
    else {
      gc({ type: 'minor' })
      expectAllLanded(await hosts[arm].sync(events(WARM_UP_BATCHES * HOST_BATCH_SIZE)))
    }
    let outcomes: Awaited<ReturnType<Host['sync']>> = []
    const used = await cpuTimeOf(async () => (outcomes = await hosts[arm].sync(measured)))
    expectAllLanded(outcomes)
    return (used * 1000) / EVENTS_PER_ARM
  }
  try {
    for (let round = 0; round < WARM_UP_ROUNDS; round++) for (const arm of ARMS) await perThousand(arm)
    const results: CpuRound[] = []
    for (let round = 0; round < rounds; round++) {
      const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length])
      const measured: Partial<CpuRound> = {}
      for (const arm of order) measured[arm] = await perThousand(arm)
      results.push(measured as CpuRound)
    }
    return results
  } finally {
    await sandbox.setAnswers('lean')
  }
}
