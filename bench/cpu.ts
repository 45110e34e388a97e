/**
 * CPU: host-process CPU per 1,000 events through actions-core's executeBatch, syncCohort beside a no-op action with the
 * same fields (the framework's own cost), measured pair by pair so that both arms see the same machine weather.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { connect, email, engage, expectAllLanded, host, noOpDestination } from './host'
import type { Host } from './host'
import type { SandboxProcess } from './sandbox-process'
import { cpuTimeOf } from './stats'

interface CpuPair {
  syncCohort: number
  noOp: number
}

/** Events per measured arm, in batches of 1,000; figures are per 1,000. */
export const EVENTS_PER_ARM = 5000

/** Garbage left by one arm would otherwise be collected, and paid for, in the next. */
const collectGarbage = (globalThis as { gc?: () => void }).gc ?? (() => undefined)

export async function cpuPairs(definition: DestinationDefinition<Settings>, sandbox: SandboxProcess, pairs: number) {
  const audienceId = await sandbox.addAudience('cpu')
  const tagId = await connect(definition, sandbox.token, audienceId)
  const arms = {
    syncCohort: host(definition, sandbox.token, audienceId),
    noOp: host(noOpDestination(definition), sandbox.token, audienceId)
  }
  let next = 0
  // Every measured batch brings new contacts, so syncCohort does a first sync's full work each time.
  const perThousand = async (target: Host) => {
    const events = Array.from({ length: EVENTS_PER_ARM }, () => engage(email('cpu', next++), true, tagId))
    collectGarbage()
    let outcomes: Awaited<ReturnType<Host['sync']>> = []
    const used = await cpuTimeOf(async () => (outcomes = await target.sync(events)))
    expectAllLanded(outcomes)
    return (used * 1000) / EVENTS_PER_ARM
  }
  // One unmeasured pair first: module loading and the JIT's warm-up are nobody's steady cost.
  await perThousand(arms.syncCohort)
  await perThousand(arms.noOp)
  const results: CpuPair[] = []
  for (let pair = 0; pair < pairs; pair++) {
    // Each arm goes first in every other pair, so neither always inherits the other's leftovers.
    if (pair % 2 === 0) {
      const syncCohort = await perThousand(arms.syncCohort)
      results.push({ syncCohort, noOp: await perThousand(arms.noOp) })
    } else {
      const noOp = await perThousand(arms.noOp)
      results.push({ syncCohort: await perThousand(arms.syncCohort), noOp })
    }
  }
  return results
}
