/**
 * Memory: how much the resident set of a host process grows while it syncs one batch of 10,000 events, for syncCohort,
 * the minimal plugin and a no-op action, with lean or Mailchimp-sized answers. Each run is a process of its own (this
 * file, started by the bench), so that nothing else the bench did counts. The host drops actions-core's kept
 * responses after each batch, as hosts are told to.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { answerAsChild, endpointsOf, inChildProcess, withCohort } from './child-process'
import type { CohortJob } from './child-process'
import type { Arm } from './cpu'
import { destinationFor, email, engage, expectAllLanded, host, noOpDestination } from './host'
import { minimalDestination } from './minimal'
import { expectTagHolds } from './requests'
import type { SandboxProcess } from './sandbox-process'

export const MEMORY_BATCH = 10_000

/** The environment variable that carries the job to the child. */
const JOB = 'BENCH_MEMORY_JOB'

interface Job extends CohortJob {
  arm: Arm
}

export interface MemoryRun {
  /** Resident set before the batch, after a warm-up batch: the host with the plugin loaded. */
  beforeMb: number
  peakMb: number
  growthMb: number
}

export async function memoryRun(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  arm: Arm,
  answers: 'lean' | 'mailchimp',
  run: number
): Promise<MemoryRun> {
  return withCohort(definition, sandbox, `memory ${arm} ${answers} ${run}`, answers, async (cohort) => {
    const measured = await inChildProcess<MemoryRun>(__filename, JOB, { ...cohort, arm })
    if (arm !== 'noOp') {
      await expectTagHolds(sandbox, cohort.audienceId, cohort.tagId, [email('warm', 0), ...memoryAddresses()])
    }
    return measured
  })
}

const memoryAddresses = () => Array.from({ length: MEMORY_BATCH }, (_, i) => email('mem', i))

const mb = (bytes: number) => bytes / 2 ** 20

async function child(job: Job): Promise<MemoryRun> {
  const endpoints = endpointsOf(job)
  const definition = destinationFor(endpoints)
  const arms = {
    syncCohort: () => definition,
    minimal: () => minimalDestination(definition, endpoints),
    noOp: () => noOpDestination(definition)
  }
  const target = host(arms[job.arm](), job.token, job.audienceId)
  await target.sync([engage(email('warm', 0), true, job.tagId)])
  const beforeMb = mb(process.memoryUsage().rss)
  const events = memoryAddresses().map((address) => engage(address, true, job.tagId))
  expectAllLanded(await target.sync(events, { batchSize: MEMORY_BATCH }))
  const peakMb = mb(process.resourceUsage().maxRSS * 1024)
  return { beforeMb, peakMb, growthMb: peakMb - beforeMb }
}

answerAsChild(module, JOB, child)
