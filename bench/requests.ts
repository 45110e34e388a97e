/**
 * Requests: N new contacts into a tag, then a delta of 10% leavers and 10% joiners, counted by the sandbox; ours beside
 * the per-contact baseline and the contract's bound.
 */
import type { DestinationDefinition } from '@segment/actions-core'
import type { Settings } from '../src'
import { perContactSync } from './baseline'
import type { Change } from './baseline'
import { COHORT, connect, email, engage, expectAllLanded, host } from './host'
import type { SandboxProcess } from './sandbox-process'

export interface RequestCounts {
  /** testAuthentication and createAudience: once per cohort, when the operator connects it. */
  connect: number
  first: number
  delta: number
}

export interface Cohort {
  first: Change[]
  delta: Change[]
  /** Who carries the tag after the first sync, and after the delta. */
  afterFirst: string[]
  afterDelta: string[]
}

/** The first sync: contacts 0…N-1 join. The delta: the first tenth leave and a tenth new ones join, interleaved. */
export function cohortOf(n: number): Cohort {
  const tenth = Math.ceil(n / 10)
  const first: Change[] = Array.from({ length: n }, (_, i) => ({ email: email('c', i), inCohort: true }))
  const delta: Change[] = []
  for (let i = 0; i < tenth; i++) {
    delta.push({ email: email('c', i), inCohort: false }, { email: email('c', n + i), inCohort: true })
  }
  const afterFirst = first.map((c) => c.email)
  const afterDelta = [...afterFirst.slice(tenth), ...delta.filter((c) => c.inCohort).map((c) => c.email)]
  return { first, delta, afterFirst, afterDelta }
}

/**
 * The contract's bound for A adds and R removes on one tag: ⌈A/500⌉ batch subscribes, max(⌈A/500⌉, ⌈R/500⌉) tag calls,
 * and three lookups (data center, audience, tag).
 */
export function requestBound(changes: Change[]): number {
  const adds = changes.filter((c) => c.inCohort).length
  const chunks = (count: number) => Math.ceil(count / 500)
  return chunks(adds) + Math.max(chunks(adds), chunks(changes.length - adds)) + 3
}

/** Requests the sandbox saw while `work` ran; the tag must then hold exactly `members`, or the count means nothing. */
async function counted(
  sandbox: SandboxProcess,
  tag: { audienceId: string; tag: string; members: string[] },
  work: () => Promise<unknown>
): Promise<number> {
  await sandbox.resetCounters()
  await work()
  const requests = (await sandbox.counters()).total
  await expectTagHolds(sandbox, tag.audienceId, tag.tag, tag.members)
  return requests
}

export async function expectTagHolds(sandbox: SandboxProcess, audienceId: string, tag: string, expected: string[]) {
  const held = new Set((await sandbox.tagMembers(audienceId, tag)).map((address) => address.toLowerCase()))
  const missing = expected.filter((address) => !held.has(address.toLowerCase()))
  if (missing.length > 0 || held.size !== expected.length) {
    throw new Error(
      `The tag holds ${held.size} contacts, ${missing.length} of the ${expected.length} expected missing.`
    )
  }
}

export async function oursFor(definition: DestinationDefinition<Settings>, sandbox: SandboxProcess, cohort: Cohort) {
  const audienceId = await sandbox.addAudience(`ours ${cohort.first.length}`)
  let tagId = ''
  const connecting = await counted(sandbox, { audienceId, tag: COHORT, members: [] }, async () => {
    tagId = await connect(definition, sandbox.token, audienceId)
  })
  const target = host(definition, sandbox.token, audienceId)
  const sync = (changes: Change[]) => async () =>
    expectAllLanded(await target.sync(changes.map((c) => engage(c.email, c.inCohort, tagId))))
  return {
    connect: connecting,
    first: await counted(sandbox, { audienceId, tag: tagId, members: cohort.afterFirst }, sync(cohort.first)),
    delta: await counted(sandbox, { audienceId, tag: tagId, members: cohort.afterDelta }, sync(cohort.delta))
  }
}

export async function baselineFor(sandbox: SandboxProcess, cohort: Cohort): Promise<RequestCounts> {
  const audienceId = await sandbox.addAudience(`baseline ${cohort.first.length}`)
  const sync = (changes: Change[]) => () => perContactSync(sandbox, audienceId, COHORT, changes)
  return {
    connect: 0,
    first: await counted(sandbox, { audienceId, tag: COHORT, members: cohort.afterFirst }, sync(cohort.first)),
    delta: await counted(sandbox, { audienceId, tag: COHORT, members: cohort.afterDelta }, sync(cohort.delta))
  }
}
