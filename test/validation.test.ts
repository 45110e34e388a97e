import {
  checkAudienceId,
  checkDataCenter,
  checkTagId,
  checkTagName,
  quote
} from '../src/destinations/mailchimp-cohort/validation'
import { fingerprint, memoryCache } from '../src/destinations/mailchimp-cohort/mailchimp/cache'

describe('tag names', () => {
  it('are trimmed', () => {
    expect(checkTagName('  Power users \n')).toBe('Power users')
  })

  it('count Unicode code points, not UTF-16 units: 87 emoji pass, 88 do not', () => {
    expect(checkTagName('🙂'.repeat(87))).toHaveLength(174)
    expect(() => checkTagName('🙂'.repeat(88))).toThrow(/fewer than 88 characters; .* has 88/)
  })

  it('refuse empty and non-string names', () => {
    expect(() => checkTagName('')).toThrow(/empty/)
    expect(() => checkTagName(undefined)).toThrow(/empty/)
  })

  it('keep a megabyte name out of the error message', () => {
    const error = (() => {
      try {
        checkTagName('x'.repeat(1_000_000))
      } catch (e) {
        return e as Error
      }
    })()
    expect(error?.message.length).toBeLessThan(400)
    expect(error?.message).toContain('has 1000000')
  })
})

describe('values quoted in messages', () => {
  it('show at most 60 code points, never half of an emoji, and mark the cut', () => {
    expect(quote('🙂'.repeat(60))).toBe(JSON.stringify('🙂'.repeat(60)))
    expect(quote('🙂'.repeat(61))).toBe(JSON.stringify(`${'🙂'.repeat(60)}…`))
    expect(quote(`${'a'.repeat(59)}🙂🙂`)).toBe(JSON.stringify(`${'a'.repeat(59)}🙂…`))
    expect(quote('x'.repeat(10_000_000))).toBe(JSON.stringify(`${'x'.repeat(60)}…`))
  })
})

describe('ids that enter URLs', () => {
  it.each(['57afe96172', 'ABC123', ' 57afe96172 '])('accept audience id %j', (id) => {
    expect(checkAudienceId(id)).toBe(id.trim())
  })

  it.each(['../x', 'a/b', 'a b', 'é1', '', undefined, 12])('refuse audience id %j', (id) => {
    expect(() => checkAudienceId(id)).toThrow(/letters and digits/)
  })

  it.each(['0', '4242', 4242, ' 4242 ', '004242'])('accept tag id %j', (id) =>
    expect(checkTagId(id)).toBe(id === '0' ? '0' : '4242')
  )

  it.each(['-1', '1.5', '12/..', 'abc', ''])('refuse tag id %j', (id) => expect(() => checkTagId(id)).toThrow(/number/))

  it.each(['us1', 'us21', 'eu3'])('accept data center %j', (dc) => expect(checkDataCenter(dc)).toBe(dc))

  it.each(['us', '6', 'us6.evil.com', 'evil.com/us6', 'US6', 'us6#', ''])('refuse data center %j', (dc) => {
    expect(() => checkDataCenter(dc)).toThrow(/unexpected data center/)
  })
})

describe('the in-process cache', () => {
  it('forgets entries when their time is up', () => {
    const now = Date.now()
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now)
    memoryCache.set('k', 'v', 10)
    clock.mockReturnValue(now + 9_999)
    expect(memoryCache.get('k')).toBe('v')
    clock.mockReturnValue(now + 10_000)
    expect(memoryCache.get('k')).toBeUndefined()
    clock.mockRestore()
  })

  it('stays bounded, dropping the oldest entry first', () => {
    for (let i = 0; i <= 10_000; i++) memoryCache.set(`k${i}`, String(i), 60)
    expect(memoryCache.get('k0')).toBeUndefined()
    expect(memoryCache.get('k1')).toBe('1')
    expect(memoryCache.get('k10000')).toBe('10000')
  })

  it('fingerprints tokens one way', () => {
    expect(fingerprint('secret-token')).toMatch(/^[0-9a-f]{16}$/)
    expect(fingerprint('secret-token')).not.toBe(fingerprint('secret-token2'))
    expect(fingerprint('a', 'b')).not.toBe(fingerprint('ab'))
  })
})
