import { PayloadValidationError } from '@segment/actions-core'
import { checkEmail, planSync } from '../src'

// The one address rule the plugin and the command share.

describe('email addresses: one contact per address, whatever form its domain takes', () => {
  it('sends an international domain in its ASCII form, so both spellings are one contact', () => {
    const unicode = checkEmail('User@bücher.de')
    const ascii = checkEmail('user@XN--BCHER-KVA.de')
    expect(unicode).toEqual({ ok: true, email: 'User@xn--bcher-kva.de', key: 'user@xn--bcher-kva.de' })
    expect(ascii).toEqual({ ok: true, email: 'user@xn--bcher-kva.de', key: 'user@xn--bcher-kva.de' })
  })

  it('keeps a plain domain as it was given and matches it ignoring case', () => {
    expect(checkEmail('Ada@Mail.Sample-Shop.dev')).toEqual({
      ok: true,
      email: 'Ada@Mail.Sample-Shop.dev',
      key: 'ada@mail.sample-shop.dev'
    })
  })

  it('folds both spellings of one address into one change in a batch', () => {
    const { tags } = planSync({
      payloads: [
        { enable_batching: true, cohort_name: 'C', in_cohort: true, email: 'user@bücher.de' },
        { enable_batching: true, cohort_name: 'C', in_cohort: false, email: 'USER@xn--bcher-kva.de' }
      ],
      emailProperty: 'email'
    })
    const changes = tags[0].chunks.flatMap((chunk) => [...chunk.adds, ...chunk.removes])
    expect(changes.map((change) => [change.email, change.inCohort, change.earlier, change.event])).toEqual([
      ['USER@xn--bcher-kva.de', false, [0], 1]
    ])
  })

  it.each([
    ['a zero-width space', 'zero\u200bwidth@mail.acme.io', /invisible.*U\+200B/],
    ['a bidi control', 'ada\u202e@mail.acme.io', /invisible.*U\+202E/],
    ['a control character', 'ada\u0007@mail.acme.io', /control character \(U\+0007\)/],
    ['a no-break space inside', 'ada\u00a0lovelace@mail.acme.io', /space.*U\+00A0/],
    ['a trailing dot', 'user@mail.acme.io.', /ends with a dot/],
    ['a label starting and ending with a hyphen', 'user@-bad-.io', /label "-bad-"/],
    ['a label with an underscore', 'user@my_host.io', /label "my_host"/],
    ['two dots in a row', 'user@mail..io', /empty label/],
    ['a bad punycode label', 'user@xn--zz.de', /not a valid international domain/],
    ['an IP address', 'user@10.0.0.1', /IP address/],
    ['no dot', 'user@localhost', /no dot/],
    ['two @', 'a@b@mail.acme.io', /more than one @/],
    ['a label over 63 characters', `user@${'a'.repeat(64)}.io`, /label/],
    ['a local part over 64 characters', `${'a'.repeat(65)}@mail.acme.io`, /over 64/]
  ])('refuses an address with %s, naming the rule', (_, address, rule) => {
    const checked = checkEmail(address)
    expect(checked.ok).toBe(false)
    if (!checked.ok) expect(checked.rule).toMatch(rule)
  })

  it('gives the event a 400 whose message names the rule', () => {
    const { refused } = planSync({
      payloads: [{ enable_batching: true, cohort_name: 'C', in_cohort: true, email: 'user@-bad-.io' }],
      emailProperty: 'email'
    })
    expect(refused).toHaveLength(1)
    expect(refused[0].error).toBeInstanceOf(PayloadValidationError)
    expect(refused[0].error.status).toBe(400)
    expect(refused[0].error.message).toBe(
      'Not an email address: the Email field holds "user@-bad-.io": the domain label "-bad-" is not letters, digits and inner hyphens.'
    )
  })
})
