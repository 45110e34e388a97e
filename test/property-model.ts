import fc from 'fast-check'
import type { FaultSpec, MemberStatus } from '../src/sandbox'

// What the property test generates, and what Mailchimp (as the sandbox models it) should hold afterwards. Written
// from the contract alone: it never imports the plugin, so it cannot share the plugin's mistakes.

export const TAG_NAME = 'Power users'

/** Few addresses, so they collide within and across batches. The last is at a domain Mailchimp calls fake. */
export const POOL = [...Array.from({ length: 9 }, (_, n) => `person${n}@mail.sample-shop.dev`), 'nobody@example.com']
const FAKE = POOL.length - 1

type StatusIfNew = 'audience_default' | 'subscribed' | 'pending' | 'transactional' | 'skip'
type Letters = 'lower' | 'upper' | 'title' | 'mixed'

export interface Spelling {
  letters: Letters
  lead: string
  trail: string
}

/** One event: a person (index into POOL) joins or leaves the cohort, their address spelled some way. */
export interface Step {
  person: number
  join: boolean
  spelling: Spelling
}

/** A contact already in the audience before the first batch. */
interface Seed {
  person: number
  status: MemberStatus
  tagged: boolean
  spelling: Spelling
}

export type Fault = Pick<FaultSpec, 'kind' | 'applied' | 'retryAfter'>

/** Faults for one attempt of a batch, on the two requests that carry events. */
export interface AttemptFaults {
  subscribe?: Fault
  tag?: Fault
}

export interface Batch {
  events: Step[]
  /** Attempt n (from 0) meets faults[n]; later attempts meet none, so the host's re-sends converge. */
  faults: AttemptFaults[]
  /** How the events spell the cohort name when they carry no tag id. */
  cohort: Letters
}

export interface Scenario {
  doubleOptin: boolean
  statusIfNew: StatusIfNew
  /** Events carry only the cohort name (the tag is found or created by name), not the id from createAudience. */
  byName: boolean
  seeds: Seed[]
  batches: Batch[]
}

export function spell(text: string, letters: Letters): string {
  switch (letters) {
    case 'lower':
      return text.toLowerCase()
    case 'upper':
      return text.toUpperCase()
    case 'title':
      return text.charAt(0).toUpperCase() + text.slice(1)
    case 'mixed':
      return [...text].map((c, i) => (i % 2 === 0 ? c.toUpperCase() : c.toLowerCase())).join('')
  }
}

export function addressOf(person: number, { letters, lead, trail }: Spelling): string {
  return `${lead}${spell(POOL[person], letters)}${trail}`
}

/** Mailchimp matches addresses ignoring letter case and surrounding spaces. */
export const fold = (email: string) => email.trim().toLowerCase()

const letters = fc.constantFrom<Letters>('lower', 'upper', 'title', 'mixed')
const spelling: fc.Arbitrary<Spelling> = fc.record({
  letters,
  lead: fc.constantFrom('', ' ', '  '),
  trail: fc.constantFrom('', ' ', '\t')
})

const fault: fc.Arbitrary<Fault> = fc
  .record({
    kind: fc.constantFrom<Fault['kind']>(429, 500, 502, 503, 403, 'reset', 'malformed'),
    applied: fc.boolean(),
    retryAfter: fc.option(fc.constantFrom(0, 1), { nil: undefined })
  })
  .map(({ kind, applied, retryAfter }) => ({
    kind,
    applied,
    ...(kind === 429 && retryAfter !== undefined ? { retryAfter } : {})
  }))

const step: fc.Arbitrary<Step> = fc.record({ person: fc.nat({ max: POOL.length - 1 }), join: fc.boolean(), spelling })

export const scenario: fc.Arbitrary<Scenario> = fc.record({
  doubleOptin: fc.boolean(),
  statusIfNew: fc.constantFrom<StatusIfNew>('audience_default', 'subscribed', 'pending', 'transactional', 'skip'),
  byName: fc.boolean(),
  // The fake address is never seeded: whether Mailchimp's address check runs before its existing-contact check is
  // not documented, so that case would test the sandbox's guess rather than the plugin.
  // Archived contacts are in: the success the plugin claims for one that the tag call ignored is the known
  // limit, and the test lets through that claim alone (see archivedLimit); every other check holds for them.
  seeds: fc.uniqueArray(
    fc.record({
      person: fc.nat({ max: FAKE - 1 }),
      status: fc.constantFrom<MemberStatus>(
        'subscribed',
        'unsubscribed',
        'cleaned',
        'pending',
        'transactional',
        'archived'
      ),
      tagged: fc.boolean(),
      spelling
    }),
    { selector: (seed) => seed.person, maxLength: FAKE }
  ),
  batches: fc.array(
    fc.record({
      events: fc.array(step, { minLength: 1, maxLength: 12 }),
      faults: fc.array(
        fc.record({ subscribe: fc.option(fault, { nil: undefined }), tag: fc.option(fault, { nil: undefined }) }),
        { maxLength: 3 }
      ),
      cohort: letters
    }),
    { minLength: 1, maxLength: 4 }
  )
})

/** A contact as Mailchimp holds it: absent, or present with a status and carrying the tag or not. */
export interface ContactState {
  exists: boolean
  status?: MemberStatus
  tagged: boolean
}

export const ABSENT: ContactState = { exists: false, tagged: false }

export function statusForNew({ statusIfNew, doubleOptin }: Scenario): MemberStatus | undefined {
  if (statusIfNew === 'skip') return undefined
  if (statusIfNew === 'audience_default') return doubleOptin ? 'pending' : 'subscribed'
  return statusIfNew
}

/**
 * Whether Mailchimp can bring the contact to the wanted membership (or it already holds). It cannot when the contact
 * must be created but may not be (Skip) or is refused (a fake address), and it cannot change an archived contact's tags:
 * the tag call ignores archived contacts as it ignores absent ones. Only then may an event fail for good.
 */
export function reachable(state: ContactState, join: boolean, person: number, scenario: Scenario): boolean {
  if (!join) return !state.tagged || state.status !== 'archived'
  if (state.tagged) return true
  if (state.exists) return state.status !== 'archived'
  return statusForNew(scenario) !== undefined && person !== FAKE
}

/**
 * Under Skip the plugin creates nobody, so only the tag call speaks for the contact, and its answer does not tell a
 * contact that already carries the tag from one not in the audience (docs/decisions.md, "Addresses the tag call
 * ignores"). The plugin then gives its documented 400 (CONTACT_NOT_IN_AUDIENCE) rather than claim a success nobody
 * confirmed, which the contract allows; also when an earlier attempt, whose answer was lost, had tagged the contact.
 */
export function ambiguousUnderSkip(state: ContactState, join: boolean, scenario: Scenario): boolean {
  return scenario.statusIfNew === 'skip' && join && state.tagged
}

/**
 * The "Known limit: archived contacts" of docs/decisions.md: batch subscribe reports an archived contact as existing
 * and the tag call ignores it as it ignores absent ones, so the plugin reports the change as already made without it
 * being so: `already_tagged` for a join, `not_tagged` for a leave. That claim, for an archived contact whose tag and
 * status the attempt left as they were, is the only one let through; `reachable` still expects the contact to stay as
 * it was.
 */
export function archivedLimit(was: ContactState, now: ContactState, claimed: string): boolean {
  if (was.status !== 'archived' || now.status !== 'archived' || was.tagged !== now.tagged) return false
  return claimed === (now.tagged ? 'not_tagged' : 'already_tagged')
}

/** The index of the last event for each person: the one that wins. */
export function winners(steps: Step[]): Map<number, number> {
  return new Map(steps.map((s, i) => [s.person, i]))
}

export function seededWorld(scenario: Scenario): Map<number, ContactState> {
  return new Map(scenario.seeds.map((s) => [s.person, { exists: true, status: s.status, tagged: s.tagged }]))
}

/**
 * What one batch should leave behind once the host has delivered all of it: for each person, the batch's last event
 * wins where reachable; otherwise the contact stays as it was. Returns the new world and, per person, whether their
 * events should end in a success.
 */
export function afterBatch(
  world: Map<number, ContactState>,
  steps: Step[],
  scenario: Scenario
): { world: Map<number, ContactState>; succeeds: Map<number, boolean> } {
  const next = new Map(world)
  const succeeds = new Map<number, boolean>()
  for (const [person, index] of winners(steps)) {
    const state = world.get(person) ?? ABSENT
    const { join } = steps[index]
    const ok = reachable(state, join, person, scenario)
    succeeds.set(person, ok)
    if (!ok) continue
    next.set(
      person,
      join
        ? { exists: true, status: state.exists ? state.status : statusForNew(scenario), tagged: true }
        : { ...state, tagged: false }
    )
  }
  return { world: next, succeeds }
}
