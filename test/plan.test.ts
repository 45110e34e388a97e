import fc from 'fast-check'
import { InvalidAudienceMembershipError, PayloadValidationError } from '@segment/actions-core'
import { planSync } from '../src/destinations/mailchimp-cohort/syncCohort/plan'
import type { ContactChange, PlanInput } from '../src/destinations/mailchimp-cohort/syncCohort/plan'
import type { Payload } from '../src/destinations/mailchimp-cohort/syncCohort/generated-types'

/** Every event about the contact, in batch order: the earlier ones, then the one that decided the change. */
const eventsOf = (contact: ContactChange) => [...(contact.earlier ?? []), contact.event]

/** A payload as actions-core hands it to the action after mapping. */
function payload(fields: Partial<Payload> = {}): Payload {
  return { enable_batching: true, cohort_name: 'Power users', in_cohort: true, ...fields }
}

function plan(payloads: Payload[], input: Partial<PlanInput> = {}) {
  return planSync({ payloads, emailProperty: 'email', ...input })
}

function onlyChunk(result: ReturnType<typeof plan>) {
  expect(result.tags).toHaveLength(1)
  expect(result.tags[0].chunks).toHaveLength(1)
  return result.tags[0].chunks[0]
}

function refusal(result: ReturnType<typeof plan>, index = 0) {
  const found = result.refused.find((r) => r.index === index)
  if (!found) throw new Error(`event ${index} was not refused`)
  return found.error
}

describe('planning: the email address', () => {
  it('reads the user property named by the Email Property setting, trimmed', () => {
    const chunk = onlyChunk(
      plan([payload({ user_properties: { contact_email: '  Ada@Example.com ' } })], { emailProperty: 'contact_email' })
    )
    expect(chunk.adds.map((c) => [c.email, c.key])).toEqual([['Ada@Example.com', 'ada@example.com']])
  })

  it('prefers the explicit Email field over the user property', () => {
    const chunk = onlyChunk(
      plan([payload({ email: 'field@example.com', user_properties: { email: 'trait@example.com' } })])
    )
    expect(chunk.adds[0].email).toBe('field@example.com')
  })

  it('falls back to the user property when the Email field is blank', () => {
    const chunk = onlyChunk(plan([payload({ email: '   ', user_properties: { email: 'trait@example.com' } })]))
    expect(chunk.adds[0].email).toBe('trait@example.com')
  })

  it('refuses an event without an email and names the property it read', () => {
    const result = plan([payload({ user_properties: { name: 'Ada' } })], { emailProperty: 'contact_email' })
    const error = refusal(result)
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.status).toBe(400)
    expect(error.message).toContain('"contact_email"')
    expect(error.message).toMatch(/Email Property/)
    expect(result.tags).toEqual([])
  })

  it.each([
    ['not an address', 'ada.example.com'],
    ['two @', 'ada@@example.com'],
    ['spaces inside', 'ada lovelace@example.com'],
    ['no domain dot', 'ada@example'],
    ['longer than 254 characters', `${'a'.repeat(250)}@example.com`]
  ])('refuses a value that is not an email address (%s) and names the property', (_, value) => {
    const error = refusal(plan([payload({ user_properties: { email: value } })]))
    expect(error).toBeInstanceOf(PayloadValidationError)
    expect(error.message).toMatch(/^Not an email address: user property "email"/)
  })

  it('names the Email field when that is what held the bad value', () => {
    const error = refusal(plan([payload({ email: 'nope', user_properties: { email: 'ok@example.com' } })]))
    expect(error.message).toMatch(/^Not an email address: the Email field holds "nope"/)
  })

  it('refuses a property that is not a string', () => {
    const error = refusal(plan([payload({ user_properties: { email: 42 } })]))
    expect(error.message).toMatch(/holds a number, not an email address/)
  })

  it('keeps a huge value out of the message', () => {
    const error = refusal(plan([payload({ user_properties: { email: `${'x'.repeat(100_000)}@example.com` } })]))
    expect(error.message.length).toBeLessThan(400)
    expect(error.message).toContain('100012 characters; 254 at most')
  })

  it('never reads inherited properties such as __proto__ or constructor', () => {
    const properties = JSON.parse('{"__proto__": {"email": "evil@example.com"}}') as Record<string, unknown>
    const result = plan([payload({ user_properties: properties })])
    expect(refusal(result).message).toMatch(/missing or empty/)
    const viaConstructor = plan([payload({ user_properties: {} })], { emailProperty: 'constructor' })
    expect(refusal(viaConstructor).message).toMatch(/"constructor" .* is missing or empty/)
    expect(({} as Record<string, unknown>).email).toBeUndefined()
  })

  it('uses the property "email" when the setting is blank', () => {
    const chunk = onlyChunk(plan([payload({ user_properties: { email: 'a@example.com' } })], { emailProperty: '  ' }))
    expect(chunk.adds[0].email).toBe('a@example.com')
  })
})

describe('planning: membership', () => {
  const email = { user_properties: { email: 'a@example.com' } }

  it('takes In Cohort when it is mapped, over the membership actions-core resolved', () => {
    const chunk = onlyChunk(plan([payload({ ...email, in_cohort: false })], { memberships: [true] }))
    expect(chunk.removes.map((c) => c.email)).toEqual(['a@example.com'])
    expect(chunk.adds).toEqual([])
  })

  it('takes the membership actions-core resolved when In Cohort is not mapped', () => {
    const chunk = onlyChunk(plan([payload({ ...email, in_cohort: undefined })], { memberships: [true] }))
    expect(chunk.adds.map((c) => c.email)).toEqual(['a@example.com'])
  })

  it('refuses an event whose membership cannot be determined', () => {
    const error = refusal(plan([payload({ ...email, in_cohort: undefined })], { memberships: [undefined] }))
    expect(error).toBeInstanceOf(InvalidAudienceMembershipError)
    expect(error.status).toBe(400)
    expect(error.message).toMatch(/map In Cohort/)
  })
})

describe('planning: the tag', () => {
  const email = { user_properties: { email: 'a@example.com' } }

  it('uses the tag id from createAudience over the cohort name, keeping the name to re-find a deleted tag', () => {
    const result = plan([payload({ ...email, external_audience_id: ' 0042 ', cohort_name: 'Power users' })])
    expect(result.tags[0]).toMatchObject({ tagId: '42', tagName: 'Power users' })
  })

  it('uses the Tag Name audience setting over the cohort name, as createAudience does', () => {
    const result = plan([payload(email)], { tagName: 'VIP' })
    expect(result.tags[0]).toMatchObject({ tagName: 'VIP' })
    expect(result.tags[0].tagId).toBeUndefined()
  })

  it('refuses a cohort name of 88 characters and says why', () => {
    const error = refusal(plan([payload({ ...email, cohort_name: 'a'.repeat(88) })]))
    expect(error.status).toBe(400)
    expect(error.message).toContain('88')
  })

  it('accepts a cohort name of 87 characters', () => {
    expect(plan([payload({ ...email, cohort_name: 'a'.repeat(87) })]).refused).toEqual([])
  })

  it('does not fail an event with a tag id because its cohort name is too long', () => {
    const result = plan([payload({ ...email, external_audience_id: '7', cohort_name: 'a'.repeat(200) })])
    expect(result.refused).toEqual([])
    expect(result.tags[0]).toEqual(expect.objectContaining({ tagId: '7', tagName: undefined }))
  })

  it('refuses a tag id that is not a number before it can reach a URL', () => {
    const error = refusal(plan([payload({ ...email, external_audience_id: '../members' })]))
    expect(error.message).toMatch(/tag id is a number/)
  })

  it('refuses an event with neither a tag id nor a cohort name', () => {
    const error = refusal(plan([payload({ ...email, cohort_name: undefined })]))
    expect(error.message).toMatch(/Map Cohort Name to the property/)
  })

  it('groups events by tag', () => {
    const result = plan([
      payload({ user_properties: { email: 'a@example.com' }, cohort_name: 'One' }),
      payload({ user_properties: { email: 'b@example.com' }, cohort_name: 'Two' }),
      payload({ user_properties: { email: 'c@example.com' }, cohort_name: 'one' })
    ])
    expect(result.tags.map((t) => [t.tagName, t.chunks[0].adds.map((c) => c.email)])).toEqual([
      ['One', ['a@example.com', 'c@example.com']],
      ['Two', ['b@example.com']]
    ])
  })
})

describe('planning: duplicates and chunks', () => {
  it('folds letter-case and space variants of one email into one change; the last event wins', () => {
    const result = plan([
      payload({ user_properties: { email: 'Ada@Example.com' }, in_cohort: true }),
      payload({ user_properties: { email: 'b@example.com' }, in_cohort: true }),
      payload({ user_properties: { email: ' ada@example.COM ' }, in_cohort: false, status_if_new: 'pending' })
    ])
    const chunk = onlyChunk(result)
    expect(chunk.adds.map((c) => [c.email, eventsOf(c)])).toEqual([['b@example.com', [1]]])
    expect(chunk.removes.map((c) => [c.email, c.key, eventsOf(c), c.statusIfNew])).toEqual([
      ['ada@example.COM', 'ada@example.com', [0, 2], 'pending']
    ])
  })

  it('keeps the same email apart in different tags', () => {
    const result = plan([
      payload({ user_properties: { email: 'a@example.com' }, cohort_name: 'One' }),
      payload({ user_properties: { email: 'a@example.com' }, cohort_name: 'Two', in_cohort: false })
    ])
    expect(result.tags).toHaveLength(2)
  })

  it('cuts 1,200 adds into chunks of 500, 500 and 200, in event order', () => {
    const payloads = Array.from({ length: 1200 }, (_, i) =>
      payload({ user_properties: { email: `u${i}@example.com` } })
    )
    const [tag] = plan(payloads).tags
    expect(tag.chunks.map((c) => [c.adds.length, c.removes.length])).toEqual([
      [500, 0],
      [500, 0],
      [200, 0]
    ])
    expect(tag.chunks[1].adds[0].email).toBe('u500@example.com')
  })

  it('pairs adds and removes so that max(⌈A/500⌉, ⌈R/500⌉) chunks carry both', () => {
    const payloads = [
      ...Array.from({ length: 700 }, (_, i) => payload({ user_properties: { email: `in${i}@example.com` } })),
      ...Array.from({ length: 1100 }, (_, i) =>
        payload({ user_properties: { email: `out${i}@example.com` }, in_cohort: false })
      )
    ]
    const [tag] = plan(payloads).tags
    expect(tag.chunks.map((c) => [c.adds.length, c.removes.length])).toEqual([
      [500, 500],
      [200, 500],
      [0, 100]
    ])
  })

  it('gives every event either a change or a refusal, never both, never neither', () => {
    const payloads = [
      payload({ user_properties: { email: 'a@example.com' } }),
      payload({ user_properties: {} }),
      payload({ user_properties: { email: 'A@example.com' }, in_cohort: false }),
      payload({ user_properties: { email: 'c@example.com' }, cohort_name: 'x'.repeat(90) })
    ]
    const result = plan(payloads)
    const planned = result.tags.flatMap((t) => t.chunks.flatMap((c) => [...c.adds, ...c.removes]).flatMap(eventsOf))
    const refused = result.refused.map((r) => r.index)
    expect([...planned, ...refused].sort()).toEqual([0, 1, 2, 3])
  })
})

describe('planning: properties over random batches (fast-check)', () => {
  const local = fc.constantFrom('ada', 'Ada', 'bob', 'BOB', 'cy')
  const event = fc.record({
    local,
    pad: fc.constantFrom('', ' ', '  '),
    inCohort: fc.option(fc.boolean(), { nil: undefined }),
    cohort: fc.constantFrom('One', 'one', 'Two'),
    valid: fc.boolean()
  })

  it('gives every event one place, refuses only what it must, and lets the last event win', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 60 }), (events) => {
        const payloads = events.map((e) =>
          payload({
            user_properties: { email: e.valid ? `${e.pad}${e.local}@example.com${e.pad}` : `${e.local}-no-at` },
            in_cohort: e.inCohort,
            cohort_name: e.cohort
          })
        )
        const result = plan(payloads)
        const contacts = result.tags.flatMap((t) => t.chunks.flatMap((c) => [...c.adds, ...c.removes]))

        // Each event is refused or belongs to exactly one contact change.
        const placed = [...result.refused.map((r) => r.index), ...contacts.flatMap(eventsOf)].sort((a, b) => a - b)
        expect(placed).toEqual(events.map((_, i) => i))
        // The change is what the last event about that email and tag asked for.
        for (const contact of contacts) {
          const last = events[contact.event]
          expect(Math.max(...eventsOf(contact))).toBe(contact.event)
          expect(contact.inCohort).toBe(last.inCohort)
          expect(contact.key).toBe(`${last.local.toLowerCase()}@example.com`)
          for (const index of eventsOf(contact)) {
            expect(events[index].local.toLowerCase()).toBe(last.local.toLowerCase())
            expect(events[index].cohort.toLowerCase()).toBe(last.cohort.toLowerCase())
          }
        }
        // Refused: exactly the events without an address or without a membership.
        expect(result.refused.map((r) => r.index).sort((a, b) => a - b)).toEqual(
          events.flatMap((e, i) => (!e.valid || e.inCohort === undefined ? [i] : []))
        )
        for (const tag of result.tags) {
          const adds = tag.chunks.flatMap((c) => c.adds).length
          const removes = tag.chunks.flatMap((c) => c.removes).length
          expect(tag.chunks).toHaveLength(Math.max(Math.ceil(adds / 500), Math.ceil(removes / 500)))
        }
      }),
      { numRuns: 300 }
    )
  })
})
