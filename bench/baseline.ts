/**
 * What per-profile integrations do today, written here only to be counted: for every contact, upsert the member, then
 * post its tag (a leaver costs the tag request alone). Ten requests in flight, Mailchimp's cap per user.
 */
import { createHash } from 'crypto'
import { Agent, request } from 'http'
import { pkg } from './package'
import { MAILCHIMP_CONNECTIONS } from './host'
import type { SandboxProcess } from './sandbox-process'

export interface Change {
  email: string
  inCohort: boolean
}

export async function perContactSync(sandbox: SandboxProcess, audienceId: string, tag: string, changes: Change[]) {
  const agent = new Agent({ keepAlive: true, maxSockets: MAILCHIMP_CONNECTIONS })
  const members = `${sandbox.endpoints.apiBaseUrl('us1')}/lists/${audienceId}/members`
  const send = (method: string, url: string, body: unknown) =>
    new Promise<void>((resolve, reject) => {
      const payload = JSON.stringify(body)
      const headers = { authorization: `Bearer ${sandbox.token}`, 'content-type': 'application/json' }
      const call = request(url, { method, agent, headers }, (response) => {
        response.resume()
        response.once('end', () =>
          response.statusCode === 200 || response.statusCode === 204
            ? resolve()
            : reject(new Error(`The per-contact baseline got ${response.statusCode} from ${method} ${url}`))
        )
      })
      call.once('error', reject)
      call.end(payload)
    })
  const syncOne = async ({ email, inCohort }: Change) => {
    const member = `${members}/${createHash('md5').update(email.toLowerCase()).digest('hex')}`
    if (inCohort) await send('PUT', member, { email_address: email, status_if_new: 'subscribed' })
    await send('POST', `${member}/tags`, { tags: [{ name: tag, status: inCohort ? 'active' : 'inactive' }] })
  }
  try {
    await pkg.eachBounded(changes, MAILCHIMP_CONNECTIONS, syncOne)
  } finally {
    agent.destroy()
  }
}
