import { manifest } from '@segment/action-destinations'
import definition from '../src'

describe('the Segment catalog', () => {
  const catalog = Object.values(manifest).map(({ definition }) => definition)

  it('is loaded, so the comparison below means something', () => {
    expect(catalog.length).toBeGreaterThan(100)
    expect(catalog.map((d) => d.slug)).toContain('actions-sendgrid-audiences')
  })

  it('has no destination with our name or slug', () => {
    const lower = (s?: string) => (s ?? '').toLowerCase()
    expect(catalog.filter((d) => lower(d.name) === lower(definition.name))).toEqual([])
    expect(catalog.filter((d) => lower(d.slug) === lower(definition.slug))).toEqual([])
  })
})
