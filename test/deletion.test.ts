import { createHash } from 'crypto'
import { createTestIntegration } from '@segment/actions-core'
import type { SegmentEvent } from '@segment/actions-core'
import nock from 'nock'
import definition from '../src'
import { AUDIENCE_ID, api, LOGIN, metadata, problem, settings } from './helpers'

// Deletion requests (onDelete) over recorded HTTP: Mailchimp's permanent delete, only when the operator turned it on.

const destination = createTestIntegration(definition)
const hash = (email: string) => createHash('md5').update(email.trim().toLowerCase()).digest('hex')
const deleteUrl = (email: string) => `/3.0/lists/${AUDIENCE_ID}/members/${hash(email)}/actions/delete-permanent`
const on = { ...settings, delete_contacts_on_request: true }
const request = (userId: string | null, anonymousId: string | null = null) =>
  ({ type: 'delete', userId, anonymousId }) as unknown as SegmentEvent

describe('onDelete', () => {
  it('deletes nothing and sends nothing while the setting is off, and says so', async () => {
    const result = await destination.onDelete!(request('ada@example.com'), settings)
    expect(result).toEqual({
      output: 'Not deleted: "Permanently Delete Contacts on Deletion Requests" is off for this destination.'
    })
  })

  it('permanently deletes the contact whose address is the user id', async () => {
    metadata()
    const deletion = api().post(deleteUrl('Ada@Example.com ')).reply(204)
    const result = await destination.onDelete!(request(' Ada@Example.com '), on)
    expect(deletion.isDone()).toBe(true)
    expect(result).toEqual({ output: `Contact permanently deleted from audience ${AUDIENCE_ID}.` })
  })

  it('uses the anonymous id when it is the address and the user id is not', async () => {
    metadata()
    const deletion = api().post(deleteUrl('ada@example.com')).reply(204)
    await destination.onDelete!(request('user-123', 'ada@example.com'), on)
    expect(deletion.isDone()).toBe(true)
  })

  it('succeeds with nothing to delete when the audience has no such contact', async () => {
    metadata()
    api()
      .post(deleteUrl('gone@example.com'))
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    api().get(`/3.0/lists/${AUDIENCE_ID}`).query(true).reply(200, { id: AUDIENCE_ID, name: 'N', double_optin: false })
    const result = await destination.onDelete!(request('gone@example.com'), on)
    expect(result).toEqual({ output: `No contact with this address in audience ${AUDIENCE_ID}: nothing to delete.` })
  })

  it('fails naming audience_id when the audience itself is missing', async () => {
    metadata()
    api()
      .post(deleteUrl('ada@example.com'))
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    api()
      .get(`/3.0/lists/${AUDIENCE_ID}`)
      .query(true)
      .reply(...problem(404, 'Resource Not Found', 'The requested resource could not be found.'))
    await expect(destination.onDelete!(request('ada@example.com'), on)).rejects.toThrow(/audience_id/)
  })

  it('refuses, without a request, when neither id is an email address', async () => {
    await expect(destination.onDelete!(request('user-123', 'anon-456'), on)).rejects.toThrow(
      /Mailchimp finds contacts by email address, and neither the userId nor the anonymousId/
    )
  })

  it('asks to reconnect when the token was revoked', async () => {
    nock(LOGIN).get('/oauth2/metadata').reply(401, { error: 'invalid_token' })
    await expect(destination.onDelete!(request('ada@example.com'), on)).rejects.toThrow(/Reconnect Mailchimp/)
  })
})
