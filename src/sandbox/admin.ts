import { route, type Answer, type Route } from './router'
import * as schemas from './schemas'
import type { MailchimpSandbox } from './types'

// Takes the side effect as its argument so each control stays a one-line arrow.
const done = (_effect: void): Answer => ({ status: 204 })
const ok = (body: unknown): Answer => ({ status: 200, body })
const tagRef = (ref: string) => (/^\d+$/.test(ref) ? Number(ref) : ref)

/** The sandbox's own controls over HTTP, so a sandbox in another process can be driven; each maps onto the API. */
export function adminRoutes(sandbox: MailchimpSandbox): Route[] {
  return [
    route('/_sandbox/info', { GET: () => ok(sandbox.info()) }),
    route('/_sandbox/counters', { GET: () => ok(sandbox.counters) }),
    route('/_sandbox/reset-counters', { POST: () => done(sandbox.resetCounters()) }),
    route('/_sandbox/faults', {
      POST: ({ body }) => {
        const { pathPattern, ...spec } = schemas.parse(schemas.faultSpec, body)
        sandbox.inject(pathPattern === undefined ? spec : { ...spec, path: new RegExp(pathPattern) })
        return done()
      },
      DELETE: () => done(sandbox.clearFaults())
    }),
    route('/_sandbox/latency', {
      POST: ({ body }) => done(sandbox.setLatency(schemas.parse(schemas.latency, body).ms))
    }),
    route('/_sandbox/answers', {
      POST: ({ body }) => done(sandbox.setAnswers(schemas.parse(schemas.answers, body).size))
    }),
    route('/_sandbox/tokens/revoke', {
      POST: ({ body }) => done(sandbox.revokeToken(schemas.parse(schemas.tokenBody, body).token))
    }),
    route('/_sandbox/audiences', {
      POST: ({ body }) => ok({ id: sandbox.addAudience(schemas.parse(schemas.audienceSeed, body ?? {})) })
    }),
    route('/_sandbox/audiences/{id}/contacts', {
      GET: ({ params }) => ok({ contacts: sandbox.contacts(params.id) }),
      POST: ({ params, body }) => done(sandbox.addContacts(params.id, schemas.parse(schemas.contactSeeds, body)))
    }),
    route('/_sandbox/audiences/{id}/forget', {
      POST: ({ params, body }) => done(sandbox.forget(params.id, schemas.parse(schemas.emailBody, body).email))
    }),
    route('/_sandbox/audiences/{id}/tags', { GET: ({ params }) => ok({ tags: sandbox.tags(params.id) }) }),
    route('/_sandbox/audiences/{id}/tags/{tag}', {
      DELETE: ({ params }) => done(sandbox.deleteTag(params.id, Number(params.tag)))
    }),
    route('/_sandbox/audiences/{id}/tags/{tag}/members', {
      GET: ({ params }) => ok({ emails: sandbox.tagMembers(params.id, tagRef(params.tag)) })
    })
  ]
}
