import { RetryableError } from '@segment/actions-core'
import {
  creationsFrom,
  EVERY_ROW_CREATED,
  joinVerdict,
  leaveVerdict,
  tagAnswerFrom,
  UNCONFIRMED
} from '../src/destinations/mailchimp-cohort/mailchimp/answers'
import { BatchSubscribeAnswer, TagMembersAnswer } from '../src/destinations/mailchimp-cohort/mailchimp/schemas'
import { contactExists, forgotten, inComplianceState, looksFake, subscribeAnswer, tagAnswer } from './answers'

// Reading Mailchimp's answers is pure: these tests feed it answers shaped as Mailchimp documents them (./answers),
// through the same zod schemas the client checks them with, and read what each address's row means.

const subscribe = (answer: ReturnType<typeof subscribeAnswer>) => creationsFrom(BatchSubscribeAnswer.parse(answer))
const tag = (answer: ReturnType<typeof tagAnswer>) => tagAnswerFrom(TagMembersAnswer.parse(answer))

describe('reading a batch subscribe answer', () => {
  it('tells created, existing, compliance-state, forgotten and refused addresses apart, by folded address', () => {
    const creations = subscribe(
      subscribeAnswer({
        created: [{ email: 'New@Mail.Sample-Shop.dev', status: 'pending' }],
        updated: [{ email: 'updated@mail.sample-shop.dev', status: 'subscribed' }],
        errors: [
          contactExists('old@mail.sample-shop.dev'),
          inComplianceState('gone@mail.sample-shop.dev'),
          forgotten('erased@mail.sample-shop.dev'),
          looksFake('nobody@example.com')
        ]
      })
    )
    const said = (key: string) => [key, creations.get(key)]
    const keys = [
      'new@mail.sample-shop.dev',
      'updated@mail.sample-shop.dev',
      'old@mail.sample-shop.dev',
      'gone@mail.sample-shop.dev',
      'erased@mail.sample-shop.dev',
      'nobody@example.com'
    ]
    expect(Object.fromEntries(keys.map(said))).toEqual({
      'new@mail.sample-shop.dev': { kind: 'created' },
      'updated@mail.sample-shop.dev': { kind: 'exists' },
      'old@mail.sample-shop.dev': { kind: 'exists' },
      'gone@mail.sample-shop.dev': { kind: 'compliance', reason: expect.stringMatching(/compliance state/) },
      'erased@mail.sample-shop.dev': { kind: 'forgotten', reason: expect.stringMatching(/permanently deleted/) },
      'nobody@example.com': {
        kind: 'refused',
        reason: 'nobody@example.com looks fake or invalid, please enter a real email address.'
      }
    })
  })

  it('takes "already a list member" for an existing contact even without ERROR_CONTACT_EXISTS', () => {
    const row = { ...contactExists('old@mail.sample-shop.dev'), code: 'ERROR_GENERIC' as const }
    expect(subscribe(subscribeAnswer({ errors: [row] })).get('old@mail.sample-shop.dev')).toEqual({ kind: 'exists' })
  })

  it('names the merge field a row was refused for', () => {
    const row = {
      email: 'ada@mail.sample-shop.dev',
      error: 'Invalid merge field',
      field: 'BIRTHDAY',
      fieldMessage: 'Bad date'
    }
    expect(subscribe(subscribeAnswer({ errors: [row] })).get('ada@mail.sample-shop.dev')).toEqual({
      kind: 'refused',
      reason: 'Invalid merge field (BIRTHDAY: Bad date)'
    })
  })

  it('leaves out addresses the answer does not mention: they are unconfirmed', () => {
    expect(subscribe(subscribeAnswer({})).get('ada@mail.sample-shop.dev')).toBeUndefined()
    expect(UNCONFIRMED).toEqual({ kind: 'unconfirmed' })
  })
})

describe('reading a tag answer', () => {
  const answer = tag(
    tagAnswer({
      added: ['Added@Mail.Sample-Shop.dev'],
      removed: ['removed@mail.sample-shop.dev'],
      errors: [
        { emails: ['tagged@mail.sample-shop.dev'], error: 'Email address is already a member of the segment' },
        { emails: ['absent@mail.sample-shop.dev'], error: 'Email address is not a member of the segment' },
        { emails: ['odd@mail.sample-shop.dev'], error: 'Something else went wrong' }
      ]
    })
  )
  const created = { kind: 'created' } as const
  const exists = { kind: 'exists' } as const

  it.each([
    ['added, created just now', 'added@mail.sample-shop.dev', created, { ok: true, result: 'created_and_added' }],
    ['added, existing', 'added@mail.sample-shop.dev', exists, { ok: true, result: 'added' }],
    ['said already tagged', 'tagged@mail.sample-shop.dev', exists, { ok: true, result: 'already_tagged' }],
    ['existing, nothing said', 'quiet@mail.sample-shop.dev', exists, { ok: true, result: 'already_tagged' }],
    ['created, nothing said', 'quiet@mail.sample-shop.dev', created, { ok: false, why: 'created_not_tagged' }],
    [
      'in a compliance state, not tagged',
      'quiet@mail.sample-shop.dev',
      { kind: 'compliance', reason: 'in a compliance state' },
      { ok: false, why: 'compliance', reason: 'in a compliance state' }
    ],
    ['not tried (Skip), nothing said', 'quiet@mail.sample-shop.dev', undefined, { ok: false, why: 'not_in_audience' }],
    [
      'refused for another reason',
      'odd@mail.sample-shop.dev',
      UNCONFIRMED,
      { ok: false, why: 'tag_refused', reason: 'Something else went wrong' }
    ],
    ['unconfirmed, nothing said', 'quiet@mail.sample-shop.dev', UNCONFIRMED, { ok: false, why: 'tag_refused' }]
  ] as const)('a joiner %s', (_, key, creation, verdict) => {
    expect(joinVerdict(key, creation, answer)).toEqual(verdict)
  })

  it.each([
    ['removed', 'removed@mail.sample-shop.dev', { ok: true, result: 'removed' }],
    ['said not a member', 'absent@mail.sample-shop.dev', { ok: true, result: 'not_tagged' }],
    ['not mentioned (Mailchimp ignores it)', 'quiet@mail.sample-shop.dev', { ok: true, result: 'not_tagged' }],
    ['refused for another reason', 'odd@mail.sample-shop.dev', { ok: false, reason: 'Something else went wrong' }]
  ] as const)('a leaver %s', (_, key, verdict) => {
    expect(leaveVerdict(key, answer)).toEqual(verdict)
  })
})

describe('reading an answer that confirms everything, by its counts alone', () => {
  const emails = Array.from({ length: 500 }, (_, n) => `person${n}@mail.sample-shop.dev`)

  it('takes a batch subscribe that created every row sent, and refused none, for every address created', () => {
    const answer = BatchSubscribeAnswer.parse(
      subscribeAnswer({ created: emails.map((email) => ({ email, status: 'subscribed' as const })) })
    )
    const fast = creationsFrom(answer, emails.length)
    const slow = creationsFrom(answer)
    expect(fast).toBe(EVERY_ROW_CREATED)
    expect(emails.every((email) => fast.get(email)?.kind === 'created' && slow.get(email)?.kind === 'created')).toBe(
      true
    )
  })

  it.each([
    ['a row refused', { created: emails.slice(1), errors: [looksFake(emails[0])] }],
    ['a row that already was a contact', { created: emails.slice(1), errors: [contactExists(emails[0])] }],
    ['a row fewer than sent', { created: emails.slice(1) }]
  ])('reads address by address when the answer has %s', (_, rows) => {
    const answer = BatchSubscribeAnswer.parse(
      subscribeAnswer({
        created: rows.created.map((email) => ({ email, status: 'subscribed' as const })),
        errors: 'errors' in rows ? rows.errors : []
      })
    )
    const said = creationsFrom(answer, emails.length)
    expect(said).not.toBe(EVERY_ROW_CREATED)
    expect(said.get(emails[0])?.kind).not.toBe('created')
    expect(said.get(emails[1])?.kind).toBe('created')
  })

  it('takes a tag call that added and removed everything sent, refusing nothing, for every verdict confirmed', () => {
    const [joiners, leavers] = [emails.slice(0, 300), emails.slice(300)]
    const answer = TagMembersAnswer.parse(tagAnswer({ added: joiners, removed: leavers }))
    for (const read of [tagAnswerFrom(answer, { add: 300, remove: 200 }), tagAnswerFrom(answer)]) {
      expect(joiners.every((email) => joinVerdict(email, { kind: 'created' }, read).ok)).toBe(true)
      expect(leavers.every((email) => leaveVerdict(email, read).ok)).toBe(true)
    }
  })

  it('reads address by address when the tag call added fewer than it was sent', () => {
    const answer = TagMembersAnswer.parse(tagAnswer({ added: emails.slice(1) }))
    const read = tagAnswerFrom(answer, { add: emails.length, remove: 0 })
    expect(joinVerdict(emails[0], { kind: 'created' }, read)).toEqual({ ok: false, why: 'created_not_tagged' })
    expect(joinVerdict(emails[1], { kind: 'created' }, read)).toEqual({ ok: true, result: 'created_and_added' })
  })

  it('refuses, as unreadable and retryable, an answer whose member it must read has no address', () => {
    const answer = BatchSubscribeAnswer.parse({ new_members: [{ id: 'x' }], updated_members: [], errors: [] })
    expect(() => creationsFrom(answer, 2)).toThrow(RetryableError)
    expect(() => creationsFrom(answer, 2)).toThrow(/could not be read/)
  })

  it('refuses an answer whose member lists are not lists, and reads those that are without copying them', () => {
    for (const members of [{}, 'everyone', null, 3]) {
      expect(BatchSubscribeAnswer.safeParse({ new_members: members, updated_members: [], errors: [] }).success).toBe(
        false
      )
      expect(TagMembersAnswer.safeParse({ members_added: [], members_removed: members, errors: [] }).success).toBe(
        false
      )
    }
    const added = [{ email_address: 'a@mail.sample-shop.dev' }, { id: 'no address yet' }]
    expect(TagMembersAnswer.parse({ members_added: added, members_removed: [], errors: [] }).members_added).toBe(added)
  })
})
