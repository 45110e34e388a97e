import nock from 'nock'

export const TOKEN = 'test-oauth-token-0123456789abcdef'
export const DC = 'us6'
export const AUDIENCE_ID = '57afe96172'
export const API = `https://${DC}.api.mailchimp.com`
export const LOGIN = 'https://login.mailchimp.com'

/** Settings as the host passes them to testAuthentication, createAudience and getAudience. */
export const settings = { audience_id: AUDIENCE_ID, email_property: 'email', oauth: { access_token: TOKEN } }

/** Mailchimp's OAuth metadata answer, as Mailchimp documents it (only `dc` is relied on). */
export function metadata(times = 1, dc = DC): nock.Scope {
  return nock(LOGIN, { reqheaders: { authorization: `OAuth ${TOKEN}` } })
    .get('/oauth2/metadata')
    .times(times)
    .reply(200, { dc, role: 'owner', accountname: 'Test Co', api_endpoint: `https://${dc}.api.mailchimp.com` })
}

/** The Marketing API, expecting the token as a bearer token on every call. */
export function api(): nock.Scope {
  return nock(API, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
}

/** An `application/problem+json` error body as Mailchimp sends it. */
export function problem(status: number, title: string, detail: string): [number, object, Record<string, string>] {
  return [
    status,
    {
      type: 'https://mailchimp.com/developer/marketing/docs/errors/',
      title,
      status,
      detail,
      instance: '995c5cb0-3280-4a6e-808b-3b096d0bb219'
    },
    { 'content-type': 'application/problem+json; charset=utf-8' }
  ]
}

export function tag(id: number, name: string) {
  return {
    id,
    name,
    member_count: 0,
    type: 'static',
    created_at: '2026-11-01T10:00:00+00:00',
    updated_at: '2026-11-01T10:00:00+00:00',
    list_id: AUDIENCE_ID
  }
}

/** Asserts that none of these recorded answers was asked for, then withdraws them. */
export function expectNotRequested(...scopes: nock.Scope[]): void {
  for (const scope of scopes) {
    expect(scope.isDone()).toBe(false)
    for (const interceptor of (scope as unknown as { interceptors: nock.Interceptor[] }).interceptors) {
      nock.removeInterceptor(interceptor)
    }
  }
}

/** What a promise was rejected with; fails the test when it resolves. */
export async function rejectionOf<E = Error>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    (value) => {
      throw new Error(`Expected a rejection, got ${JSON.stringify(value)}`)
    },
    (error: E) => error
  )
}

/** Mailchimp's `GET /lists` as the plugin asks it for an "unknown audience" error: the first five audiences. */
export function firstAudiences(
  lists: { id: string; name: string; member_count?: number }[],
  total = lists.length
): nock.Scope {
  return api()
    .get('/3.0/lists')
    .query({ fields: 'lists.id,lists.name,lists.stats.member_count,total_items', count: '5', offset: '0' })
    .reply(200, {
      lists: lists.map(({ id, name, member_count = 0 }) => ({ id, name, stats: { member_count } })),
      total_items: total
    })
}
