import definition from '../src'
import catalogFile from './segment-catalog.json'

/**
 * Segment's catalog, as `scripts/segment-catalog.ts` last read it from @segment/action-destinations (the version is
 * in the file): the name and slug of every destination. Rerun the script to compare against a newer catalog.
 */
describe('the Segment catalog', () => {
  const catalog = catalogFile.destinations

  it('is loaded, so the comparison below means something', () => {
    expect(catalogFile.source).toMatch(/^@segment\/action-destinations@\d+\.\d+\.\d+$/)
    expect(catalog.length).toBeGreaterThan(100)
    expect(catalog.map((d) => d.slug)).toContain('actions-sendgrid-audiences')
  })

  it('has no destination with our name or slug', () => {
    const lower = (s?: string) => (s ?? '').toLowerCase()
    expect(catalog.filter((d) => lower(d.name) === lower(definition.name))).toEqual([])
    expect(catalog.filter((d) => lower(d.slug) === lower(definition.slug))).toEqual([])
  })
})
