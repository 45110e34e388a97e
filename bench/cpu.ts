/**
 * CPU: host-process CPU per 1,000 events through actions-core's executeBatch for three arms with the same fields:
 * syncCohort, the minimal plugin (the same requests through the same client, nothing else: the fair floor) and a
 * no-op action (actions-core's own cost). Measured round by round, each arm first in turn, so that all three see the
 * same machine weather; answers lean or at Mailchimp's size.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { connect, email, engage, expectAllLanded, host, noOpDestination } from './host'
import type { Host } from './host'
import { minimalDestination } from './minimal'
import type { SandboxProcess } from './sandbox-process'
import { cpuTimeOf } from './stats'

export const ARMS = ['syncCohort', 'minimal', 'noOp'] as const
export type Arm = (typeof ARMS)[number]
export type CpuRound = Record<Arm, number>

/** Events per measured arm, in host batches of 1,000; figures are per 1,000. */
export const EVENTS_PER_ARM = 10_000
/** Rounds run first and not measured: module loading and the JIT's warm-up are nobody's steady cost. */
const WARM_UP_ROUNDS = 3

/** Garbage left by one arm would otherwise be collected, and paid for, in the next. */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

export async function cpuRounds(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  rounds: number,
  answers: 'lean' | 'mailchimp'
): Promise<CpuRound[]> {
  await sandbox.setAnswers(answers)
  const audienceId = await sandbox.addAudience(`cpu ${answers}`)
  const tagId = await connect(definition, sandbox.token, audienceId)
  const hosts: Record<Arm, Host> = {
    syncCohort: host(definition, sandbox.token, audienceId),
    minimal: host(minimalDestination(definition, sandbox.endpoints), sandbox.token, audienceId),
    noOp: host(noOpDestination(definition), sandbox.token, audienceId)
  }
  let next = 0
  // Every measured batch brings new contacts, so each arm does a first sync's full work each time.
  const perThousand = async (arm: Arm) => {
    const events = Array.from({ length: EVENTS_PER_ARM }, () => engage(email(`cpu-${answers}`, next++), true, tagId))
    collectGarbage()
    let outcomes: Awaited<ReturnType<Host['sync']>> = []
    const used = await cpuTimeOf(async () => (outcomes = await hosts[arm].sync(events)))
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
