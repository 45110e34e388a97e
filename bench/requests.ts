/**
 * Requests: N new contacts into a tag, then a delta of 10% leavers and 10% joiners, counted by the sandbox; ours beside
 * the per-contact baseline and the contract's bound.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { perContactSync } from './baseline'
import type { Change } from './baseline'
import { COHORT, connect, email, engage, host } from './host'
import type { Host } from './host'
import type { SandboxProcess } from './sandbox-process'

export interface RequestCounts {
  /** testAuthentication and createAudience: once per cohort, when the operator connects it. */
  connect: number
  first: number
  delta: number
}

/** The first sync: contacts 0…N-1 join. The delta: the first tenth leave, a tenth new ones join, interleaved. */
export function cohortOf(n: number) {
  const tenth = Math.ceil(n / 10)
  const first: Change[] = Array.from({ length: n }, (_, i) => ({ email: email('c', i), inCohort: true }))
  const delta: Change[] = []
  for (let i = 0; i < tenth; i++) {
    delta.push({ email: email('c', i), inCohort: false }, { email: email('c', n + i), inCohort: true })
  }
  return { first, delta }
}

/** The contract's bound for syncing N events into one tag: two requests per 500, and three lookups. */
export const requestBound = (n: number) => 2 * Math.ceil(n / 500) + 3

/** Requests the sandbox saw while `work` ran; afterwards the tag must hold exactly the cohort, or nothing counts. */
async function counted(
  sandbox: SandboxProcess,
  tag: { audienceId: string; tag: string; members: number },
  work: () => Promise<unknown>
): Promise<number> {
  await sandbox.resetCounters()
  await work()
  const requests = (await sandbox.counters()).total
  const members = (await sandbox.tagMembers(tag.audienceId, tag.tag)).length
  if (members !== tag.members) throw new Error(`The tag holds ${members} contacts instead of ${tag.members}.`)
  return requests
}

async function syncAll(target: Host, changes: Change[], tagId: string) {
  const outcomes = await target.sync(changes.map((c) => engage(c.email, c.inCohort, tagId)))
  const failed = outcomes.filter((o) => o.status !== 200)
  if (failed.length > 0) throw new Error(`${failed.length} events failed, e.g. ${failed[0].errormessage}`)
}

export async function oursFor(definition: DestinationDefinition<Settings>, sandbox: SandboxProcess, n: number) {
  const audienceId = await sandbox.addAudience(`ours ${n}`)
  let tagId = ''
  const connecting = await counted(sandbox, { audienceId, tag: COHORT, members: 0 }, async () => {
    tagId = await connect(definition, sandbox.token, audienceId)
  })
  const target = host(definition, sandbox.token, audienceId)
  const { first, delta } = cohortOf(n)
  const tag = { audienceId, tag: tagId, members: n }
  return {
    connect: connecting,
    first: await counted(sandbox, tag, () => syncAll(target, first, tagId)),
    delta: await counted(sandbox, tag, () => syncAll(target, delta, tagId))
  }
}

export async function baselineFor(sandbox: SandboxProcess, n: number): Promise<RequestCounts> {
  const audienceId = await sandbox.addAudience(`baseline ${n}`)
  const { first, delta } = cohortOf(n)
  const tag = { audienceId, tag: COHORT, members: n }
  return {
    connect: 0,
    first: await counted(sandbox, tag, () => perContactSync(sandbox, audienceId, COHORT, first)),
    delta: await counted(sandbox, tag, () => perContactSync(sandbox, audienceId, COHORT, delta))
  }
}
