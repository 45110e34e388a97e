/**
 * CPU: host-process CPU per 1,000 events through actions-core's executeBatch for three arms with the same fields:
 * syncCohort, the minimal plugin (the same requests through the same client, nothing else: the fair floor) and a
 * no-op action (actions-core's own cost). Measured round by round, each arm first in turn, so that all three see the
 * same machine weather; answers lean or at Mailchimp's size.
 *
 * The rounds run in a host process of their own (this file, started by the bench), as the memory runs do: the three
 * arms start from the same history. In the bench's own process syncCohort has already run the request counts' first
 * syncs and deltas, and V8 keeps what that code saw (leavers, removals, other outcomes) in its type feedback, while
 * the minimal plugin and the no-op start fresh.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { answerAsChild, endpointsOf, inChildProcess, withCohort } from './child-process'
import type { CohortJob } from './child-process'
import { destinationFor, email, engage, expectAllLanded, host, noOpDestination } from './host'
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

/** The environment variable that carries the job to the child. */
const JOB = 'BENCH_CPU_JOB'

/** What the host process that measures needs: where the sandbox is, a connected cohort, the rounds to run. */
interface CpuJob extends CohortJob {
  answers: 'lean' | 'mailchimp'
  rounds: number
}

/**
 * `rounds` measured rounds with the sandbox answering lean or Mailchimp-sized member objects. In a host process of its
 * own unless `inProcess` (the profiling script, whose profiler watches this process).
 */
export async function cpuRounds(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  rounds: number,
  answers: 'lean' | 'mailchimp',
  { inProcess = false }: { inProcess?: boolean } = {}
): Promise<CpuRound[]> {
  return withCohort(definition, sandbox, `cpu ${answers}`, answers, async (cohort) => {
    const job: CpuJob = { ...cohort, answers, rounds }
    return inProcess ? measure(job) : inChildProcess<CpuRound[]>(__filename, JOB, job, ['--expose-gc'])
  })
}

/** Garbage left by one arm would otherwise be collected, and paid for, in the next. */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc
  if (!gc) throw new Error('The CPU rounds need node --expose-gc: garbage of one arm would count in the next.')
  gc()
}

async function measure(job: CpuJob): Promise<CpuRound[]> {
  const endpoints = endpointsOf(job)
  const definition = destinationFor(endpoints)
  const hosts: Record<Arm, Host> = {
    syncCohort: host(definition, job.token, job.audienceId),
    minimal: host(minimalDestination(definition, endpoints), job.token, job.audienceId),
    noOp: host(noOpDestination(definition), job.token, job.audienceId)
  }
  let next = 0
  // Every measured batch brings new contacts, so each arm does a first sync's full work each time.
  const perThousand = async (arm: Arm) => {
    const events = Array.from({ length: EVENTS_PER_ARM }, () =>
      engage(email(`cpu-${job.answers}`, next++), true, job.tagId)
    )
    collectGarbage()
    let outcomes: Awaited<ReturnType<Host['sync']>> = []
    const used = await cpuTimeOf(async () => (outcomes = await hosts[arm].sync(events)))
    expectAllLanded(outcomes)
    return (used * 1000) / EVENTS_PER_ARM
  }
  for (let round = 0; round < WARM_UP_ROUNDS; round++) for (const arm of ARMS) await perThousand(arm)
  const results: CpuRound[] = []
  for (let round = 0; round < job.rounds; round++) {
    const order = ARMS.map((_, i) => ARMS[(i + round) % ARMS.length])
    const measured: Partial<CpuRound> = {}
    for (const arm of order) measured[arm] = await perThousand(arm)
    results.push(measured as CpuRound)
  }
  return results
}

answerAsChild(module, JOB, measure)
