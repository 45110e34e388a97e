import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { adminRoutes } from './admin'
import * as problems from './problems'
import { Problem } from './problems'
import { mailchimpRoutes } from './routes'
import { match, selectFields, type Answer, type Route } from './router'
import { Audience, World, type Member } from './state'
import type { FaultSpec, MailchimpSandbox, SandboxCounters, SandboxOptions } from './types'

const BODY_LIMIT = 10 * 1024 * 1024
const FAKE_DOMAINS = ['example.com', 'example.net', 'example.org', 'test.com']
const BAD_GATEWAY = '<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>'

const bump = (tally: Record<string, number>, key: string) => (tally[key] = (tally[key] ?? 0) + 1)
const sleep = (ms: number) => (ms > 0 ? new Promise<void>((resolve) => setTimeout(resolve, ms).unref()) : undefined)

/** The body, or null when it is over the limit or the client went away before sending all of it. */
function readBody(req: IncomingMessage): Promise<Buffer | null> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size <= BODY_LIMIT) chunks.push(chunk)
    })
    req.on('end', () => resolve(size > BODY_LIMIT ? null : Buffer.concat(chunks)))
    req.on('close', () => resolve(null))
  })
}

function write(res: ServerResponse, status: number, text: string, headers: Record<string, string | number> = {}): void {
  if (res.destroyed) return
  res.writeHead(status, status === 204 ? headers : { 'Content-Length': Buffer.byteLength(text), ...headers })
  res.end(text)
}

function writeAnswer(res: ServerResponse, answer: Answer | Problem, headers: Record<string, string> = {}): void {
  if (answer instanceof Problem) {
    write(res, answer.status, JSON.stringify(answer.body()), {
      'Content-Type': 'application/problem+json; charset=utf-8',
      ...headers
    })
  } else if (answer.body === undefined) {
    write(res, answer.status, '', headers)
  } else {
    write(res, answer.status, JSON.stringify(answer.body), {
      'Content-Type': 'application/json; charset=utf-8',
      ...headers
    })
  }
}

/** Runs a matched handler: 404/405 for unknown paths and methods, Mailchimp's answers for bad bodies. */
function dispatch(found: ReturnType<typeof match>, method: string, url: URL, raw: Buffer | null): Answer | Problem {
  try {
    if (!found) throw problems.notFound()
    const handler = found.route.methods[method]
    if (!handler) throw problems.methodNotAllowed()
    if (raw === null) throw problems.badRequest('The request body is larger than 10 MB.')
    let body: unknown
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString('utf8'))
      } catch {
        throw problems.jsonParse()
      }
    }
    const answer = handler({ params: found.params, query: url.searchParams, body })
    return method === 'GET' ? { ...answer, body: selectFields(answer.body, url.searchParams) } : answer
  } catch (error) {
    if (error instanceof Problem) return error
    // A bug in the sandbox, or an admin call naming an unknown audience: say what went wrong rather than hang.
    return new Problem(found?.route.template.startsWith('/_sandbox') ? 400 : 500, 'Sandbox Error', String(error))
  }
}

/** The credential a sandbox accepts unless told otherwise. */
export const SANDBOX_TOKEN = 'sandbox-token'
/** The audience id the standalone sandbox and the tools' sandbox runs use. */
export const SANDBOX_AUDIENCE_ID = '0a1b2c3d4e'

export async function startSandbox(options: SandboxOptions = {}): Promise<MailchimpSandbox> {
  let latencyMs = options.latencyMs ?? 0
  const cap = options.maxConnections ?? 10
  const tokens = new Set(options.tokens ?? [SANDBOX_TOKEN])
  const fakeDomains = (options.fakeDomains ?? FAKE_DOMAINS).map((d) => d.toLowerCase())
  const world = new World(new Set(fakeDomains))
  world.wholeMembers = options.answers === 'mailchimp'
  const counters: SandboxCounters = { total: 0, byRoute: {}, byStatus: {}, throttled: 0, peakInFlight: 0 }
  let faults: Array<{ spec: FaultSpec; left: number }> = []
  const inFlight = new Map<string, number>() // per credential, as Mailchimp counts per user
  let inFlightTotal = 0
  const stalled = new Set<() => void>() // each ends one stall
  const site = { url: '', dataCenter: options.dataCenter ?? 'us1' }
  const api = mailchimpRoutes(world, site)
  let admin: Route[] = []

  const send = (res: ServerResponse, answer: Answer | Problem, headers?: Record<string, string>) => {
    bump(counters.byStatus, String(answer.status))
    writeAnswer(res, answer, headers)
  }

  const findFault = (method: string, pathname: string) =>
    faults.find(({ spec: { method: m, path } }) => {
      if (m && m.toUpperCase() !== method) return false
      return path === undefined || (typeof path === 'string' ? path === pathname : path.test(pathname))
    })
  const takeFault = (entry?: { spec: FaultSpec; left: number }) => {
    if (entry && --entry.left === 0) faults = faults.filter((f) => f !== entry)
  }

  /**
   * The metadata endpoint takes only `OAuth <token>`; the API also takes Bearer and Basic (docs/mailchimp-facts.md,
   * "Hosts and OAuth").
   */
  const credential = (header = '', oauthOnly = false): string | undefined => {
    const [scheme = '', value = ''] = header.trim().split(/\s+/, 2)
    let token = value
    if (oauthOnly && !/^oauth$/i.test(scheme)) return undefined
    if (/^basic$/i.test(scheme)) {
      const decoded = Buffer.from(value, 'base64').toString('utf8')
      if (!decoded.includes(':')) return undefined
      token = decoded.slice(decoded.indexOf(':') + 1) // any username; the key or token is the password
    } else if (!/^(bearer|oauth)$/i.test(scheme)) return undefined
    return tokens.has(token) ? token : undefined
  }

  /** Takes a slot of the credential (none without one); the answer frees it once, whether the client is there or not. */
  const acquire = (token: string | undefined): (() => void) => {
    if (!token) return () => undefined
    inFlight.set(token, (inFlight.get(token) ?? 0) + 1)
    counters.peakInFlight = Math.max(counters.peakInFlight, ++inFlightTotal)
    let held = true
    return () => {
      if (!held) return
      held = false
      inFlight.set(token, (inFlight.get(token) ?? 1) - 1)
      inFlightTotal--
    }
  }

  /** No answer; the slot stays taken, client gone or not, until holdMs elapses or close(), then the connection drops. */
  const stall = (res: ServerResponse, holdMs: number | undefined, release: () => void) => {
    bump(counters.byStatus, 'stall')
    const end = () => {
      clearTimeout(timer)
      stalled.delete(end)
      release()
      res.destroy()
    }
    const timer = holdMs === undefined ? undefined : setTimeout(end, holdMs).unref()
    stalled.add(end)
  }

  const answerFault = ({ kind, retryAfter }: FaultSpec, res: ServerResponse) => {
    bump(counters.byStatus, kind === 'malformed' ? '200' : String(kind))
    switch (kind) {
      case 'reset':
        return void res.socket?.destroy()
      case 403:
        return write(res, 403, '')
      case 502:
        return write(res, 502, BAD_GATEWAY, { 'Content-Type': 'text/html' })
      case 'malformed':
        return write(res, 200, '{"id":"0a1b2c3d4e","name":"Sandbox au', { 'Content-Type': 'application/json' })
      case 401:
        return writeAnswer(res, problems.apiKeyInvalid())
      case 429:
        return writeAnswer(
          res,
          problems.tooManyRequests(cap),
          retryAfter === undefined ? {} : { 'Retry-After': `${retryAfter}` }
        )
      case 500:
        return writeAnswer(res, problems.internalError())
      case 503:
        return writeAnswer(res, problems.serviceUnavailable())
    }
  }

  /** Only a client on this machine drives the sandbox: no foreign Host (DNS rebinding), no form or text bodies (CSRF). */
  const adminAnswer = async (req: IncomingMessage, method: string, url: URL): Promise<Answer | Problem> => {
    if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/i.test(req.headers.host ?? '')) {
      return new Problem(
        403,
        'Forbidden',
        'The sandbox admin API answers only requests addressed to 127.0.0.1 or localhost.'
      )
    }
    const raw = await readBody(req)
    const type = req.headers['content-type']
    if (
      !['GET', 'HEAD'].includes(method) &&
      (type !== undefined || raw?.length) &&
      !/^application\/json\s*(;|$)/i.test(type ?? '')
    ) {
      return new Problem(400, 'Sandbox Error', 'Admin request bodies must be sent with Content-Type: application/json.')
    }
    if (method !== 'GET') world.writes++
    return dispatch(match(admin, url.pathname), method, url, raw)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://sandbox')
    const method = req.method ?? 'GET'
    res.setHeader('X-Request-Id', randomUUID())
    if (url.pathname.startsWith('/_sandbox/')) return writeAnswer(res, await adminAnswer(req, method, url))
    counters.total++
    // Mailchimp's paths read the same with or without a trailing slash; the root is `/3.0/`.
    const trimmed = url.pathname.replace(/(.)\/+$/, '$1')
    const pathname = trimmed === '/3.0' ? '/3.0/' : trimmed
    const found = match(api, pathname)
    bump(counters.byRoute, `${method} ${found?.route.template ?? url.pathname}`)
    const entry = findFault(method, url.pathname)
    const fault = entry?.spec
    const stalls = fault?.kind === 'stall' && !fault.applied
    // Faults that answer at once come first and bypass the credential check and the cap (see FaultSpec).
    if (fault && !fault.applied && !stalls) {
      takeFault(entry)
      await sleep(latencyMs)
      return answerFault(fault, res)
    }
    const token = credential(req.headers.authorization, pathname === '/oauth2/metadata')
    if (!token && !stalls) {
      await sleep(latencyMs)
      return send(res, problems.apiKeyInvalid())
    }
    if (token && (inFlight.get(token) ?? 0) >= cap) {
      counters.throttled++
      return send(res, problems.tooManyRequests(cap))
    }
    takeFault(entry)
    const release = acquire(token)
    if (stalls) return stall(res, fault.holdMs, release)
    // A client that gives up does not stop the work: Mailchimp may still run the request, holding its slot (§9).
    const arrived = performance.now()
    const raw = await readBody(req)
    if (method !== 'GET') world.writes++
    const answer = dispatch(found, method, url, raw)
    // Mailchimp answers in about the same time however many requests arrive together: the sandbox does its own work
    // on a request within the latency, not after it (which would add up when ten arrive at once).
    await sleep(Math.max(0, latencyMs - (performance.now() - arrived)))
    if (fault?.kind === 'stall') return stall(res, fault.holdMs, release)
    release()
    if (fault) return answerFault(fault, res)
    if (!res.destroyed) send(res, answer)
  }

  // A write to a socket that went away must not take the sandbox down.
  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  site.url = url

  const view = (audience: Audience, member: Member) => {
    const { email_address, status, merge_fields } = member
    return { email_address, status, tags: audience.tagsOf(member).map((s) => s.name), merge_fields }
  }

  const sandbox: MailchimpSandbox = {
    url,
    endpoints: { metadataUrl: `${url}/oauth2/metadata`, apiBaseUrl: () => `${url}/3.0` },
    get counters() {
      return counters
    },
    resetCounters: () =>
      Object.assign(counters, { total: 0, byRoute: {}, byStatus: {}, throttled: 0, peakInFlight: 0 }),
    setLatency: (ms) => void (latencyMs = ms),
    setAnswers: (size) => void (world.wholeMembers = size === 'mailchimp'),
    inject: (spec) => void faults.push({ spec, left: spec.times ?? 1 }),
    clearFaults: () => void (faults = []),
    revokeToken: (token) => void tokens.delete(token),
    addAudience: (seed) => world.add(seed).id,
    addContacts: (audienceId, contacts) => {
      world.writes++
      contacts.forEach((c) => world.audience(audienceId).seed(c))
    },
    forget: (audienceId, email) => {
      world.writes++
      world.audience(audienceId).forget(email)
    },
    contact: (audienceId, email) => {
      const audience = world.audience(audienceId)
      const member = audience.member(email.trim())
      return member && { ...view(audience, member), merge_fields: { ...member.merge_fields } }
    },
    contacts: (audienceId) => {
      const audience = world.audience(audienceId)
      return [...audience.members.values()].map((m) => {
        const { email_address, status, tags } = view(audience, m)
        return { email_address, status, tags }
      })
    },
    tags: (audienceId) => {
      const audience = world.audience(audienceId)
      return [...audience.segments.values()]
        .filter((s) => s.type === 'static')
        .map(({ id, name, members }) => ({ id, name, member_count: members.size }))
    },
    tagMembers: (audienceId, ref) => {
      const audience = world.audience(audienceId)
      const tag = typeof ref === 'number' ? audience.segments.get(ref) : audience.tagNamed(ref)
      return [...(tag?.members ?? [])].flatMap((hash) => audience.members.get(hash)?.email_address ?? [])
    },
    deleteTag: (audienceId, tagId) => {
      world.writes++
      world.audience(audienceId).segments.delete(tagId)
    },
    info: () => ({
      url,
      metadataUrl: `${url}/oauth2/metadata`,
      apiBaseUrl: `${url}/3.0`,
      token: [...tokens][0] ?? null,
      audience_ids: [...world.audiences.keys()],
      fake_domains: [...fakeDomains]
    }),
    close: async () => {
      for (const end of [...stalled]) end()
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      server.closeAllConnections()
      await closed
    }
  }
  admin = adminRoutes(sandbox)
  return sandbox
}
