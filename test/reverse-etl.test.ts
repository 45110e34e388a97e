import { createTestEvent, defaultValues, Destination } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import definition from '../src'
import { fields } from '../src/destinations/mailchimp-cohort/syncCohort/fields'
import { subscribeAnswer, tagAnswer } from './answers'
import { AUDIENCE_ID, api, metadata, TOKEN } from './helpers'

// Reverse ETL: the model's row changes (new, updated, deleted) become tag changes as the chosen sync mode says.

const LIST = `/3.0/lists/${AUDIENCE_ID}`
const settings = { audience_id: AUDIENCE_ID, email_property: 'email' }
const auth = { accessToken: TOKEN, refreshToken: '' }

const row = (event: 'new' | 'updated' | 'deleted', email: string) =>
  createTestEvent({
    type: 'track',
    event,
    traits: undefined,
    properties: { email, cohort_name: 'Power users' }
  } as Partial<SegmentEvent>)

async function sync(mode: string | undefined, events: SegmentEvent[]) {
  const mapping = {
    ...defaultValues(fields),
    external_audience_id: '10',
    ...(mode ? { __segment_internal_sync_mode: mode } : {})
  }
  return (await new Destination(definition).executeBatch('syncCohort', { events, mapping, settings, auth })) as {
    status: number
    body?: { result?: string }
    errormessage?: string
  }[]
}

describe('Reverse ETL sync modes', () => {
  it('offers mirror (the default), upsert, add, update and delete', () => {
    const { syncMode } = definition.actions.syncCohort
    expect(syncMode?.default).toBe('mirror')
    expect(syncMode?.choices.map((choice) => choice.value)).toEqual(['mirror', 'upsert', 'add', 'update', 'delete'])
  })

  it('mirror: tags added and updated rows and untags deleted rows, in one tag call', async () => {
    metadata()
    api().get(LIST).query(true).reply(200, { id: AUDIENCE_ID, name: 'N', double_optin: false })
    api()
      .post(LIST)
      .query(true)
      .reply(
        200,
        subscribeAnswer({
          created: [
            { email: 'new@example.com', status: 'subscribed' },
            { email: 'changed@example.com', status: 'subscribed' }
          ]
        })
      )
    api()
      .post(`${LIST}/segments/10`, {
        members_to_add: ['new@example.com', 'changed@example.com'],
        members_to_remove: ['gone@example.com']
      })
      .reply(200, tagAnswer({ added: ['new@example.com', 'changed@example.com'], removed: ['gone@example.com'] }))

    const results = await sync('mirror', [
      row('new', 'new@example.com'),
      row('updated', 'changed@example.com'),
      row('deleted', 'gone@example.com')
    ])
    expect(results.map((r) => [r.status, r.body?.result])).toEqual([
      [200, 'created_and_added'],
      [200, 'created_and_added'],
      [200, 'removed']
    ])
  })

  it('delete: untags deleted rows and refuses rows the mode does not cover, saying why', async () => {
    metadata()
    api()
      .post(`${LIST}/segments/10`, { members_to_remove: ['gone@example.com'] })
      .reply(200, tagAnswer({ removed: ['gone@example.com'] }))
    const results = await sync('delete', [row('deleted', 'gone@example.com'), row('new', 'new@example.com')])
    expect(results[0]).toMatchObject({ status: 200, body: { result: 'removed' } })
    expect(results[1].status).toBe(400)
    expect(results[1].errormessage).toMatch(/Cannot tell whether this contact is in the cohort/)
  })
})
