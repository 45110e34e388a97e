import { Destination, defaultValues } from '@segment/actions-core'
import definition, { destination, mailchimpCohorts } from '../src'
import { AUDIENCE_ID, api, metadata, problem, rejectionOf, settings } from './helpers'

/** The names hosts store: renaming any of them breaks every saved configuration. */
describe('the public contract', () => {
  it('names the destination and exports it twice', () => {
    expect(destination).toBe(definition)
    expect(definition).toMatchObject({ name: 'Mailchimp Cohorts', slug: 'actions-mailchimp-cohorts', mode: 'cloud' })
    expect(definition.authentication?.scheme).toBe('oauth2')
  })

  it('has the settings audience_id (required) and email_property (required, default "email"), and deletion off by default', () => {
    const fields = definition.authentication?.fields ?? {}
    expect(Object.keys(fields).sort()).toEqual(['audience_id', 'delete_contacts_on_request', 'email_property'])
    expect(fields.audience_id).toMatchObject({ type: 'string', required: true })
    expect(fields.email_property).toMatchObject({ type: 'string', required: true, default: 'email' })
    expect(fields.delete_contacts_on_request).toMatchObject({ type: 'boolean', required: false, default: false })
    expect(fields.delete_contacts_on_request.description).toMatch(/cannot be undone/)
    expect(fields.delete_contacts_on_request.description).toMatch(/refuses to re-import/)
    for (const field of Object.values(fields)) expect(field.description.length).toBeGreaterThan(40)
  })

  it('has the optional audience fields tag_name and audience_id, the audience ID with the picker', () => {
    expect(Object.keys(definition.audienceFields)).toEqual(['tag_name', 'audience_id'])
    expect(definition.audienceFields.tag_name).toMatchObject({ type: 'string', required: false })
    expect(definition.audienceFields.audience_id).toMatchObject({ type: 'string', required: false })
    expect(definition.audienceFields.audience_id.dynamic).toBeInstanceOf(Function)
    expect(definition.authentication?.fields.audience_id.dynamic).toBeInstanceOf(Function)
  })

  it('has the syncCohort action with exactly the contract’s fields, plus the reserved batch_keys and merge_fields', () => {
    const { fields } = definition.actions.syncCohort
    expect(Object.keys(fields).sort()).toEqual(
      [
        'batch_keys',
        'batch_size',
        'cohort_name',
        'email',
        'enable_batching',
        'external_audience_id',
        'in_cohort',
        'merge_fields',
        'status_if_new',
        'user_properties'
      ].sort()
    )
    expect(fields.external_audience_id).toMatchObject({
      unsafe_hidden: true,
      default: { '@path': '$.context.personas.external_audience_id' }
    })
    expect(fields.status_if_new.default).toBe('audience_default')
    expect(fields.status_if_new.choices?.map((c) => (typeof c === 'string' ? c : c.value))).toEqual([
      'audience_default',
      'subscribed',
      'pending',
      'transactional',
      'skip'
    ])
    expect(fields.enable_batching).toMatchObject({ type: 'boolean', default: true })
    expect(fields.in_cohort).toMatchObject({ type: 'boolean', default: { '@path': '$.properties.in_cohort' } })
    // One batch carries one tag: Segment splits batches on the tag id and the cohort name.
    expect(fields.batch_keys).toMatchObject({ unsafe_hidden: true, default: ['external_audience_id', 'cohort_name'] })
    expect(definition.actions.syncCohort.performBatch).toBeInstanceOf(Function)
  })

  it('offers presets for audience entered and exited events that map the right properties', () => {
    const presets = definition.presets ?? []
    expect(presets.length).toBeGreaterThanOrEqual(4)
    for (const preset of presets) expect(preset.partnerAction).toBe('syncCohort')
    const byName = Object.fromEntries(presets.map((p) => [p.name, p]))
    expect(byName['Audience Entered'].mapping).toMatchObject({ user_properties: { '@path': '$.properties' } })
    expect(byName['Audience Exited'].mapping).toMatchObject({ user_properties: { '@path': '$.properties' } })
    expect(byName['Sync Engage audience (identify)'].mapping).toMatchObject({
      ...defaultValues(definition.actions.syncCohort.fields),
      user_properties: { '@path': '$.traits' }
    })
  })

  it('validates its own settings inside actions-core (a name with a space needs fast-uri 3.1.5)', async () => {
    const host = new Destination(mailchimpCohorts())
    metadata()
    api().get(`/3.0/lists/${AUDIENCE_ID}`).query(true).reply(200, { id: AUDIENCE_ID, name: 'N', double_optin: false })
    await expect(host.testAuthentication(settings)).resolves.toBeUndefined()
    const { audience_id: _missing, ...withoutAudience } = settings
    await expect(host.testAuthentication(withoutAudience as typeof settings)).rejects.toThrow(/audience_id/)
  })

  it('tells an operator who never connected Mailchimp to connect it, not that a token was revoked', async () => {
    const { oauth: _oauth, ...withoutToken } = settings
    await expect(
      new Destination(definition).createAudience({ settings: withoutToken, audienceName: 'Cohort' })
    ).rejects.toThrow(/^No Mailchimp access token: connect Mailchimp/)
  })

  it('answers actions-core’s token refresh after a 401 with one clear "reconnect" error', async () => {
    metadata()
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}/segments`)
      .query(true)
      .reply(...problem(401, 'API Key Invalid', 'Your API key may be invalid.'))

    const error = await rejectionOf<Error & { status?: number }>(
      new Destination(definition).createAudience({ settings, audienceName: 'Cohort' })
    )

    expect(error.message).toMatch(/Reconnect Mailchimp/)
    expect(error.message).not.toMatch(/refresh/i)
    expect(error.status).toBe(401)
  })
})
