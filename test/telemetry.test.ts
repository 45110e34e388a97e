import { Destination } from '@segment/actions-core'
import type { Logger, StatsContext } from '@segment/actions-core'
import { mailchimpCohorts } from '../src'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'
import { engage, statusCounts, syncBatch } from './sandbox-host'

// What the plugin reports to a host that gives it a statsContext and a logger: counters and histograms with fixed tags,
// one info line per batch and one warn line per failed request; nothing when the host gives neither.

const TOKEN = 'sandbox-token-for-metrics-0123456789'
const COHORT = 'Secret cohort name'
let sandbox: MailchimpSandbox
let audienceId: string

beforeEach(async () => {
  sandbox = await startSandbox({ tokens: [TOKEN] })
  audienceId = sandbox.addAudience({ name: 'Newsletter' })
})
afterEach(() => sandbox.close())

interface Metric {
  kind: 'incr' | 'histogram'
  name: string
  value: number
  tags: string[]
}

/** A host's stats client that keeps what it is sent. */
function recordingStats(): StatsContext & { metrics: Metric[] } {
  const metrics: Metric[] = []
  const keep =
    (kind: Metric['kind']) =>
    (name: string, value = 1, tags: string[] = []) =>
      void metrics.push({ kind, name, value, tags })
  return {
    metrics,
    tags: ['destination:mailchimp-cohorts'],
    statsClient: {
      incr: keep('incr'),
      histogram: keep('histogram'),
      set: () => undefined,
      observe: () => undefined,
      _name: (name: string) => name,
      _tags: (tags?: string[]) => tags ?? []
    }
  }
}

function recordingLogger(): Logger & { lines: { level: string; text: string }[] } {
  const lines: { level: string; text: string }[] = []
  const at =
    (level: string) =>
    (...message: string[]) =>
      void lines.push({ level, text: message.join(' ') })
  return {
    lines,
    level: 'info',
    name: 'test',
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    crit: at('crit'),
    log: at('log'),
    withTags: () => undefined
  }
}

/** The sum of a counter's values over the metrics whose tags include every one given. */
const total = (metrics: Metric[], name: string, ...tags: string[]) =>
  metrics
    .filter((m) => m.kind === 'incr' && m.name === name && tags.every((tag) => m.tags.includes(tag)))
    .reduce((sum, m) => sum + m.value, 0)

const email = (n: number) => `person${n}@mail.sample-shop.dev`

describe('metrics and logs for the host', () => {
  it('counts requests, the throttle, outcomes, contacts and the tag for a batch with successes, a refusal and a 429', async () => {
    const destination = new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
    const stats = recordingStats()
    const logger = recordingLogger()
    const settings = { audience_id: audienceId, email_property: 'email', oauth: { access_token: TOKEN } }
    const { externalId: tagId } = await destination.createAudience({
      settings,
      audienceName: COHORT,
      audienceSettings: {},
      statsContext: stats
    })
    expect(total(stats.metrics, 'mailchimp_cohorts.tag', 'action:created')).toBe(1)

    // 1,000 joiners in two requests of 500, each with one address at a domain Mailchimp calls fake. One of the two
    // tag calls is throttled, so its 499 takeable events come back 429 for the host to send again.
    const events = Array.from({ length: 1000 }, (_, n) =>
      engage(n % 500 === 3 ? `nobody${n}@example.com` : email(n), true, tagId)
    )
    sandbox.inject({ kind: 429, method: 'POST', path: `/3.0/lists/${audienceId}/segments/${tagId}`, times: 1 })
    const results = await syncBatch(destination, events, {
      audienceId,
      token: TOKEN,
      statsContext: stats,
      logger
    })
    expect(statusCounts(results)).toEqual({ 200: 499, 400: 2, 429: 499 })

    const { metrics } = stats
    // Requests: one audience read, two batch subscribes, two tag calls (one throttled); all tagged with the host's tags.
    expect(total(metrics, 'oauth_app_api_call', 'endpoint:batch-subscribe')).toBe(2)
    expect(total(metrics, 'oauth_app_api_call', 'endpoint:update-tag-members')).toBe(2)
    expect(total(metrics, 'mailchimp_cohorts.request', 'endpoint:batch-subscribe', 'status_class:2xx')).toBe(2)
    expect(total(metrics, 'mailchimp_cohorts.request', 'endpoint:update-tag-members', 'status_class:2xx')).toBe(1)
    expect(total(metrics, 'mailchimp_cohorts.request', 'endpoint:update-tag-members', 'status_class:4xx')).toBe(1)
    expect(total(metrics, 'mailchimp_cohorts.throttled', 'endpoint:update-tag-members')).toBe(1)
    const durations = metrics.filter(
      (m) => m.kind === 'histogram' && m.name === 'mailchimp_cohorts.request_duration_ms'
    )
    expect(durations.length).toBe(total(metrics, 'mailchimp_cohorts.request'))
    expect(durations.every((m) => Number.isInteger(m.value) && m.value >= 0)).toBe(true)
    // Outcomes by kind: the created contacts, the refusal, the throttled ones.
    expect(total(metrics, 'mailchimp_cohorts.outcome', 'outcome:created_and_added', 'status_class:2xx')).toBe(499)
    expect(total(metrics, 'mailchimp_cohorts.outcome', 'outcome:EMAIL_REFUSED', 'status_class:4xx')).toBe(2)
    expect(total(metrics, 'mailchimp_cohorts.outcome', 'outcome:TOO_MANY_REQUESTS', 'status_class:4xx')).toBe(499)
    // Contacts Mailchimp confirmed: created and tagged only where the tag call went through (the other 499 were
    // created too, but their outcome waits for the resend).
    expect(total(metrics, 'mailchimp_cohorts.contacts', 'change:created')).toBe(499)
    expect(total(metrics, 'mailchimp_cohorts.contacts', 'change:tagged')).toBe(499)
    expect(total(metrics, 'mailchimp_cohorts.contacts', 'change:untagged')).toBe(0)
    expect(metrics.every((m) => m.tags.includes('destination:mailchimp-cohorts'))).toBe(true)

    // Nothing personal or secret in a metric: no address, no token, no cohort name.
    const everything = JSON.stringify(metrics)
    expect(everything).not.toMatch(/@/)
    expect(everything).not.toContain(TOKEN)
    expect(everything).not.toContain(COHORT)
    expect(everything.toLowerCase()).not.toContain('secret')

    // Logs: one warn for the throttled request, with Mailchimp's request id; one info line of counts for the batch.
    const warns = logger.lines.filter((line) => line.level === 'warn')
    expect(warns).toHaveLength(1)
    expect(warns[0].text).toMatch(
      /^Mailchimp update-tag-members: 429 \(throttled\) after \d+ ms; Mailchimp request id [0-9a-f-]{36}$/
    )
    const infos = logger.lines.filter((line) => line.level === 'info')
    expect(infos).toHaveLength(1)
    expect(infos[0].text).toBe(
      'Mailchimp Cohorts batch of 1000 events: 499 contacts created, 499 tagged, 0 untagged; outcomes created_and_added 200: 499, EMAIL_REFUSED 400: 2, TOO_MANY_REQUESTS 429: 499'
    )
    expect(JSON.stringify(logger.lines)).not.toMatch(/@|sandbox-token/)
  })

  it('counts removals, and a tag found by name as reused', async () => {
    sandbox.addContacts(audienceId, [{ email_address: email(1), status: 'subscribed', tags: [COHORT] }])
    const destination = new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
    const stats = recordingStats()
    const results = await syncBatch(
      destination,
      [
        engage(email(1), false, undefined, { cohortName: COHORT }),
        engage(email(2), true, undefined, { cohortName: COHORT })
      ],
      { audienceId, token: TOKEN, statsContext: stats }
    )
    expect(statusCounts(results)).toEqual({ 200: 2 })
    expect(total(stats.metrics, 'mailchimp_cohorts.tag', 'action:reused')).toBe(1)
    expect(total(stats.metrics, 'mailchimp_cohorts.contacts', 'change:untagged')).toBe(1)
    expect(total(stats.metrics, 'mailchimp_cohorts.contacts', 'change:created')).toBe(1)
    expect(total(stats.metrics, 'mailchimp_cohorts.outcome', 'outcome:removed')).toBe(1)
  })

  it('says one event and one contact in the singular in the batch line', async () => {
    const destination = new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
    const logger = recordingLogger()
    const results = await syncBatch(destination, [engage(email(1), true, undefined, { cohortName: COHORT })], {
      audienceId,
      token: TOKEN,
      logger
    })
    expect(statusCounts(results)).toEqual({ 200: 1 })
    expect(logger.lines.filter((line) => line.level === 'info').map((line) => line.text)).toEqual([
      'Mailchimp Cohorts batch of 1 event: 1 contact created, 1 tagged, 0 untagged; outcomes created_and_added 200: 1'
    ])
  })

  it('never lets the host’s reporting break a sync: a throwing stats client, a partial logger', async () => {
    const destination = new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
    const throwing = recordingStats()
    // actions-core reports through the same client and would fail first: only the plugin's own metrics throw here.
    const incr = throwing.statsClient.incr
    throwing.statsClient.incr = (name, value, tags) => {
      if (/^(mailchimp_cohorts\.|oauth_app_api_call)/.test(name)) throw new Error('statsd is down')
      incr(name, value, tags)
    }
    const partial = { info: () => undefined } as unknown as Logger
    sandbox.inject({ kind: 500, method: 'POST', path: `/3.0/lists/${audienceId}`, times: 1 })
    const results = await syncBatch(
      destination,
      [
        engage(email(1), true, undefined, { cohortName: COHORT }),
        engage(email(2), true, undefined, { cohortName: COHORT })
      ],
      { audienceId, token: TOKEN, statsContext: throwing, logger: partial }
    )
    expect(statusCounts(results)).toEqual({ 500: 2 })
    const again = await syncBatch(destination, [engage(email(1), true, undefined, { cohortName: COHORT })], {
      audienceId,
      token: TOKEN,
      statsContext: throwing,
      logger: partial
    })
    expect(statusCounts(again)).toEqual({ 200: 1 })
  })

  it('reports nothing, and works the same, when the host gives no statsContext and no logger', async () => {
    const destination = new Destination(mailchimpCohorts({ endpoints: sandbox.endpoints }))
    const results = await syncBatch(destination, [engage(email(1), true, undefined, { cohortName: COHORT })], {
      audienceId,
      token: TOKEN
    })
    expect(statusCounts(results)).toEqual({ 200: 1 })
  })
})
