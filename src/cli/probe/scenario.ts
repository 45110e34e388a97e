import type { z } from 'zod'
import { ROLES } from './addresses'
import type { ProbeAddresses, Role } from './addresses'
import { Audience, BatchSubscribeAnswer, MemberAnswer, Problem, Segment, TagAnswer } from './schemas'
import type { ProbeAnswer, ProbeHttp, ProbeRequest } from './transport'

// The probe's fixed scenario: set-up, the open questions one by one, and the clean-up. Every request is one the
// plugin makes (or the member and tag calls Mailchimp documents), except the partial-response questions, which send
// `fields` / `exclude_fields` on the two POST calls: the OpenAPI description declares them only on GETs.

/** The open questions, in the order the probe asks them. */
export const QUESTIONS = {
  'already-tagged': 'Does the tag call list a contact that already carries the tag?',
  'removal-not-tagged': 'Does the tag call list a contact that does not carry the tag when asked to remove it?',
  'absent-address': 'Does the tag call list an address that is not in the audience?',
  'archived-tag': 'Does the tag call list an archived contact, and does the contact get the tag?',
  'compliance-subscribe':
    'What does batch subscribe (update_existing: false) answer for an existing contact in a compliance state (unsubscribed)?',
  'archived-subscribe': 'What does batch subscribe (update_existing: false) answer for an archived contact?',
  'partial-subscribe': 'Does batch subscribe honour fields and exclude_fields (partial responses)?',
  'partial-tag': 'Does the tag call honour fields and exclude_fields (partial responses)?'
} as const
export type QuestionId = keyof typeof QUESTIONS

/** One question settled: its answer in plain words, and what was seen, for the recordings and the tests. */
export interface Finding {
  id: QuestionId
  question: string
  answer: string
  observed: Record<string, string | boolean>
}

/** What the run made, so the clean-up knows what to remove. */
export interface Made {
  tagId?: number
  /** Set before the create call is sent: once it may have reached Mailchimp, the clean-up removes the contacts. */
  contactsSent: boolean
}

export interface ProbeContext {
  http: ProbeHttp
  audienceId: string
  addresses: ProbeAddresses
  tagName: string
}

/** A step whose answer stops the scenario (what was being done, and Mailchimp's words); the clean-up still runs. */
export class StepError extends Error {
  override name = 'StepError'
}

/** Nothing was created, and the operator has something to fix (audience, credentials, an address already taken). */
export class PreflightError extends Error {
  override name = 'PreflightError'
}

/** "HTTP 404 Resource Not Found: The requested resource could not be found." */
export function statusWords(answer: ProbeAnswer): string {
  const problem = Problem.safeParse(answer.body)
  const words = problem.success ? [problem.data.title, problem.data.detail].filter(Boolean).join(': ') : ''
  return `HTTP ${answer.status}${words ? ` ${words}` : ''}`
}

const succeeded = (answer: ProbeAnswer) => answer.status >= 200 && answer.status < 300

function read<T>(schema: z.ZodType<T>, answer: ProbeAnswer, what: string): T {
  if (!succeeded(answer)) throw new StepError(`${what}: Mailchimp answered ${statusWords(answer)}`)
  const parsed = schema.safeParse(answer.body ?? {})
  if (!parsed.success)
    throw new StepError(`${what}: Mailchimp's answer could not be read (${JSON.stringify(answer.body).slice(0, 200)})`)
  return parsed.data
}

const same = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase()

/** Where a tag answer mentions an address: in one of its lists, in `errors` (with the reason), or nowhere. */
function whereListed(answer: z.infer<typeof TagAnswer>, email: string): { where: string; reason?: string } {
  if (answer.members_added?.some((m) => same(m.email_address, email))) return { where: 'members_added' }
  if (answer.members_removed?.some((m) => same(m.email_address, email))) return { where: 'members_removed' }
  const error = answer.errors?.find((e) => e.email_addresses.some((address) => same(address, email)))
  if (error) return { where: 'errors', reason: error.error ?? '' }
  return { where: 'nowhere' }
}

/** Where a batch subscribe answer mentions an address. */
function rowOf(answer: BatchSubscribeAnswer, email: string): { where: string; reason?: string; code?: string } {
  if (answer.new_members?.some((m) => same(m.email_address, email))) return { where: 'new_members' }
  if (answer.updated_members?.some((m) => same(m.email_address, email))) return { where: 'updated_members' }
  const row = answer.errors?.find((e) => same(e.email_address, email))
  if (row) return { where: 'errors', reason: row.error ?? '', ...(row.error_code ? { code: row.error_code } : {}) }
  return { where: 'nowhere' }
}

const listedWords = ({ where, reason }: { where: string; reason?: string }) =>
  where === 'nowhere'
    ? 'it was in none of members_added, members_removed and errors: Mailchimp passed over it in silence'
    : where === 'errors'
      ? `it was listed in errors, with the reason ${JSON.stringify(reason)}`
      : `it was listed in ${where}`

/** The scenario, question after question. `onFinding` hears each answer as soon as it is settled. */
export class Scenario {
  readonly made: Made = { contactsSent: false }

  constructor(
    private readonly context: ProbeContext,
    private readonly signal: AbortSignal
  ) {}

  private get addresses() {
    return this.context.addresses.byRole
  }

  private send(step: string, request: ProbeRequest): Promise<ProbeAnswer> {
    return this.context.http.send(step, request, this.signal)
  }

  private memberPath(role: Role): string {
    return `/lists/${this.context.audienceId}/members/${this.context.addresses.hashOf(role)}`
  }

  /** The audience exists, and none of the run's addresses is a contact yet: nothing the probe touches is anyone's. */
  async preflight(): Promise<void> {
    const { audienceId } = this.context
    const audience = await this.send('preflight: audience', {
      method: 'GET',
      path: `/lists/${audienceId}`,
      query: { fields: 'id,double_optin' }
    })
    if (audience.status === 404) {
      throw new PreflightError(`Mailchimp has no audience "${audienceId}" in this account: check --audience.`)
    }
    if (audience.status === 401 || audience.status === 403) {
      throw new PreflightError(`Mailchimp refused the credentials (${statusWords(audience)}).`)
    }
    read(Audience, audience, 'Reading the audience')
    for (const role of ROLES) {
      const member = await this.send(`preflight: ${role} address unused`, {
        method: 'GET',
        path: this.memberPath(role),
        query: { fields: 'email_address,status' }
      })
      if (succeeded(member)) {
        throw new PreflightError(
          `${this.addresses[role]} is already a contact of audience ${audienceId}; the probe only touches contacts it creates. Run it again: a new run picks new addresses.`
        )
      }
      if (member.status !== 404) throw new StepError(`Checking ${this.addresses[role]}: ${statusWords(member)}`)
    }
  }

  /** The throw-away tag; three contacts (transactional, so no email goes to them); one of them archived. */
  async setUp(): Promise<string> {
    const { audienceId, tagName } = this.context
    const tag = read(
      Segment,
      await this.send('set-up: tag', {
        method: 'POST',
        path: `/lists/${audienceId}/segments`,
        body: { name: tagName, static_segment: [] }
      }),
      'Creating the throw-away tag'
    )
    this.made.tagId = tag.id
    this.made.contactsSent = true
    const created = read(
      BatchSubscribeAnswer,
      await this.subscribe('set-up: contacts', [
        { email_address: this.addresses.tagged, status: 'transactional' },
        { email_address: this.addresses.archived, status: 'transactional' },
        { email_address: this.addresses.unsubscribed, status: 'unsubscribed' }
      ]),
      'Creating the contacts'
    )
    for (const role of ['tagged', 'archived', 'unsubscribed'] as const) {
      const row = rowOf(created, this.addresses[role])
      if (row.where !== 'new_members') {
        throw new StepError(`Creating ${this.addresses[role]}: Mailchimp did not create it (${listedWords(row)}).`)
      }
    }
    const archived = await this.send('set-up: archive', { method: 'DELETE', path: this.memberPath('archived') })
    if (!succeeded(archived)) throw new StepError(`Archiving ${this.addresses.archived}: ${statusWords(archived)}`)
    return `Set-up: tag ${JSON.stringify(tagName)} (id ${tag.id}); contacts ${this.addresses.tagged}, ${this.addresses.archived} and ${this.addresses.unsubscribed} created (the first two transactional, the third unsubscribed), then the second one archived.`
  }

  private subscribe(
    step: string,
    members: { email_address: string; status: string }[],
    query: Record<string, string> = {}
  ): Promise<ProbeAnswer> {
    return this.send(step, {
      method: 'POST',
      path: `/lists/${this.context.audienceId}`,
      // As the plugin sends it: only contacts that do not exist yet are created.
      query: { skip_merge_validation: 'true', ...query },
      body: { members, update_existing: false }
    })
  }

  private tagCall(
    step: string,
    change: { add?: string[]; remove?: string[] },
    query?: Record<string, string>
  ): Promise<ProbeAnswer> {
    return this.send(step, {
      method: 'POST',
      path: `/lists/${this.context.audienceId}/segments/${this.made.tagId}`,
      ...(query ? { query } : {}),
      body: {
        ...(change.add ? { members_to_add: change.add } : {}),
        ...(change.remove ? { members_to_remove: change.remove } : {})
      }
    })
  }

  private async tagged(step: string, change: { add?: string[]; remove?: string[] }, email: string) {
    return whereListed(read(TagAnswer, await this.tagCall(step, change), step), email)
  }

  private async member(step: string, role: Role): Promise<{ status: string; carriesTag: boolean }> {
    const member = read(
      MemberAnswer,
      await this.send(step, {
        method: 'GET',
        path: this.memberPath(role),
        query: { fields: 'email_address,status,tags' }
      }),
      step
    )
    const carriesTag = (member.tags ?? []).some((tag) => same(tag.name, this.context.tagName))
    return { status: member.status ?? 'unknown', carriesTag }
  }

  /** Every question, in order; each answer is handed to `onFinding` as soon as it is settled. */
  async ask(onFinding: (finding: Finding) => void): Promise<Finding[]> {
    const questions: Record<QuestionId, () => Promise<Settled>> = {
      'already-tagged': () => this.alreadyTagged(),
      'removal-not-tagged': () => this.removalNotTagged(),
      'absent-address': () => this.absentAddress(),
      'archived-tag': () => this.archivedTag(),
      'compliance-subscribe': () => this.subscribeExisting('compliance-subscribe', 'unsubscribed', 'subscribed'),
      // Sent as transactional, not subscribed: should Mailchimp bring the contact back, no email can go to it.
      'archived-subscribe': () => this.subscribeExisting('archived-subscribe', 'archived', 'transactional'),
      'partial-subscribe': () => this.partialSubscribe(),
      'partial-tag': () => this.partialTag()
    }
    const findings: Finding[] = []
    for (const [id, ask] of Object.entries(questions) as [QuestionId, () => Promise<Settled>][]) {
      const finding = { id, question: QUESTIONS[id], ...(await ask()) }
      findings.push(finding)
      onFinding(finding)
    }
    return findings
  }

  private async alreadyTagged(): Promise<Settled> {
    const { tagged } = this.addresses
    const first = await this.tagged('already-tagged: first add', { add: [tagged] }, tagged)
    const second = await this.tagged('already-tagged: second add', { add: [tagged] }, tagged)
    return {
      answer: againWords('added', first, second, 'members_added'),
      observed: { firstAdd: first.where, secondAdd: second.where, ...reasonOf(second) }
    }
  }

  private async removalNotTagged(): Promise<Settled> {
    const { tagged } = this.addresses
    const first = await this.tagged('removal-not-tagged: first remove', { remove: [tagged] }, tagged)
    const second = await this.tagged('removal-not-tagged: second remove', { remove: [tagged] }, tagged)
    return {
      answer: againWords('removed', first, second, 'members_removed'),
      observed: { firstRemove: first.where, secondRemove: second.where, ...reasonOf(second) }
    }
  }

  private async absentAddress(): Promise<Settled> {
    const { absent } = this.addresses
    const listed = await this.tagged('absent-address: add', { add: [absent] }, absent)
    const documented =
      listed.where === 'nowhere'
        ? ' This is what Mailchimp documents: the tag call ignores addresses that are not in the audience.'
        : ''
    return {
      answer: `${capitalize(listedWords(listed))}.${documented}`,
      observed: { listed: listed.where, ...reasonOf(listed) }
    }
  }

  private async archivedTag(): Promise<Settled> {
    const { archived } = this.addresses
    const listed = await this.tagged('archived-tag: add', { add: [archived] }, archived)
    const after = await this.member('archived-tag: contact afterwards', 'archived')
    const carries = after.carriesTag ? 'carries' : 'does not carry'
    return {
      answer: `${capitalize(listedWords(listed))}; afterwards the contact is ${after.status} and ${carries} the tag.`,
      observed: { listed: listed.where, ...reasonOf(listed), statusAfter: after.status, carriesTag: after.carriesTag }
    }
  }

  /** Batch subscribe, as the plugin sends it, of a contact that exists already; then the contact read back. */
  private async subscribeExisting(id: QuestionId, role: Role, status: string): Promise<Settled> {
    const email = this.addresses[role]
    const answer = await this.subscribe(`${id}: subscribe`, [{ email_address: email, status }])
    const row = rowOf(read(BatchSubscribeAnswer, answer, `Batch subscribe of the ${role} contact`), email)
    const after = await this.member(`${id}: contact afterwards`, role)
    return {
      answer: `${rowWords(row)}; afterwards the contact is ${after.status}.`,
      observed: {
        listed: row.where,
        ...((row.code !== undefined ? { code: row.code } : {}) as Record<string, string>),
        ...reasonOf(row),
        statusAfter: after.status
      }
    }
  }

  private async partialSubscribe(): Promise<Settled> {
    const row = [{ email_address: this.addresses.tagged, status: 'transactional' }]
    const fields = fieldsVerdict(
      await this.subscribe('partial-subscribe: fields', row, {
        fields: 'errors.email_address,errors.error_code,error_count'
      }),
      { top: ['errors', 'error_count'], items: { errors: ['email_address', 'error_code'] } }
    )
    const exclude = excludeVerdict(
      await this.subscribe('partial-subscribe: exclude_fields', row, { exclude_fields: 'new_members,updated_members' }),
      ['new_members', 'updated_members']
    )
    return {
      answer: partialWords(fields, exclude),
      observed: { fields: fields.verdict, excludeFields: exclude.verdict }
    }
  }

  private async partialTag(): Promise<Settled> {
    const { tagged } = this.addresses
    const fields = fieldsVerdict(
      await this.tagCall(
        'partial-tag: fields',
        { add: [tagged] },
        { fields: 'members_added.email_address,total_added' }
      ),
      { top: ['members_added', 'total_added'], items: { members_added: ['email_address'] } }
    )
    const exclude = excludeVerdict(
      await this.tagCall('partial-tag: exclude_fields', { remove: [tagged] }, { exclude_fields: 'members_removed' }),
      ['members_removed']
    )
    return {
      answer: partialWords(fields, exclude),
      observed: { fields: fields.verdict, excludeFields: exclude.verdict }
    }
  }
}

/** A question's answer before it is numbered: plain words, and what was seen. */
type Settled = Pick<Finding, 'answer' | 'observed'>

/** Mailchimp's reason, when it gave one, for the recorded observation. */
const reasonOf = ({ reason }: { reason?: string }): Record<string, string> => (reason !== undefined ? { reason } : {})

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/** "No: added a second time, it was in none of …", noting when the first call was not confirmed either. */
function againWords(
  done: 'added' | 'removed',
  first: { where: string },
  second: { where: string; reason?: string },
  confirmedIn: string
): string {
  const setUp = first.where === confirmedIn ? '' : ` (The first call was not confirmed either: ${listedWords(first)}.)`
  const lead =
    second.where === 'nowhere'
      ? 'No'
      : second.where === 'errors'
        ? 'Yes, as an error'
        : second.where === confirmedIn
          ? `Yes, as if it were ${done} again`
          : 'Yes'
  return `${lead}: ${done} a second time, ${listedWords(second)}.${setUp}`
}

function rowWords({ where, reason, code }: { where: string; reason?: string; code?: string }): string {
  if (where === 'errors') return `A row in errors${code ? ` (${code})` : ''}: ${JSON.stringify(reason)}`
  if (where === 'nowhere') return 'The answer did not mention the address at all'
  return `The address came back in ${where}`
}

type PartialVerdict = { verdict: 'honoured' | 'ignored' | 'refused' | 'partly honoured'; detail: string }

/** Whether an answer holds only the fields asked for (top level, and the listed ones inside each array item). */
function fieldsVerdict(answer: ProbeAnswer, asked: { top: string[]; items: Record<string, string[]> }): PartialVerdict {
  if (!succeeded(answer)) return { verdict: 'refused', detail: statusWords(answer) }
  const body = (answer.body ?? {}) as Record<string, unknown>
  const extraTop = Object.keys(body).filter((key) => !asked.top.includes(key))
  const extraInner = Object.entries(asked.items).flatMap(([key, allowed]) =>
    (Array.isArray(body[key]) ? (body[key] as Record<string, unknown>[]) : []).flatMap((item) =>
      Object.keys(item).filter((field) => !allowed.includes(field))
    )
  )
  if (extraTop.length === 0 && extraInner.length === 0) {
    return { verdict: 'honoured', detail: `the answer held only ${Object.keys(body).join(', ') || 'nothing'}` }
  }
  const trimmed = Object.keys(body).length < 4
  return {
    verdict: trimmed ? 'partly honoured' : 'ignored',
    detail: `the answer also held ${[...new Set([...extraTop, ...extraInner])].slice(0, 6).join(', ')}`
  }
}

function excludeVerdict(answer: ProbeAnswer, excluded: string[]): PartialVerdict {
  if (!succeeded(answer)) return { verdict: 'refused', detail: statusWords(answer) }
  const body = (answer.body ?? {}) as Record<string, unknown>
  const kept = excluded.filter((key) => key in body)
  return kept.length === 0
    ? { verdict: 'honoured', detail: `${excluded.join(' and ')} left out` }
    : {
        verdict: kept.length === excluded.length ? 'ignored' : 'partly honoured',
        detail: `the answer still held ${kept.join(', ')}`
      }
}

function partialWords(fields: PartialVerdict, exclude: PartialVerdict): string {
  return `fields: ${fields.verdict} (${fields.detail}); exclude_fields: ${exclude.verdict} (${exclude.detail}). Neither is declared on this POST in Mailchimp's OpenAPI description; only the probe sends them.`
}

/** What the clean-up did, and what it could not remove (with how to remove it by hand). */
export interface CleanUp {
  lines: string[]
  leftovers: string[]
}

/**
 * Removes what the run made: the tag, and every address of the run permanently (an archive would leave the contact in
 * the audience; a permanent delete leaves nothing, and these addresses are made up for this run only). Then checks
 * that none of it remains. Runs after a failure or an interrupt too, with its own signal.
 */
export async function cleanUp(context: ProbeContext, made: Made, signal: AbortSignal): Promise<CleanUp> {
  const { http, audienceId, addresses } = context
  const lines: string[] = []
  const leftovers: string[] = []
  const attempt = async (step: string, request: ProbeRequest): Promise<ProbeAnswer | undefined> => {
    try {
      return await http.send(step, request, signal)
    } catch (error) {
      if (signal.aborted) throw error
      return undefined
    }
  }
  const tagPath = made.tagId === undefined ? undefined : `/lists/${audienceId}/segments/${made.tagId}`
  if (tagPath) {
    const deleted = await attempt('clean-up: delete tag', { method: 'DELETE', path: tagPath })
    lines.push(
      deleted && (succeeded(deleted) || deleted.status === 404)
        ? `tag ${made.tagId} deleted`
        : `tag ${made.tagId} NOT deleted`
    )
  }
  if (made.contactsSent) {
    let removed = 0
    for (const role of ROLES) {
      const path = `/lists/${audienceId}/members/${addresses.hashOf(role)}/actions/delete-permanent`
      const deleted = await attempt(`clean-up: delete ${role}`, { method: 'POST', path })
      if (deleted && succeeded(deleted)) removed++
    }
    lines.push(`${removed} contact${removed === 1 ? '' : 's'} permanently deleted`)
  }
  // The check: the tag and every address of the run are gone.
  if (tagPath) {
    const tag = await attempt('clean-up: check tag', { method: 'GET', path: tagPath, query: { fields: 'id' } })
    if (tag?.status !== 404)
      leftovers.push(`the tag ${JSON.stringify(context.tagName)} (id ${made.tagId}): delete it under Audience > Tags`)
  }
  if (made.contactsSent) {
    for (const role of ROLES) {
      const path = `/lists/${audienceId}/members/${addresses.hashOf(role)}`
      const member = await attempt(`clean-up: check ${role}`, {
        method: 'GET',
        path,
        query: { fields: 'email_address,status' }
      })
      if (member?.status !== 404)
        leftovers.push(`the contact ${addresses.byRole[role]}: delete it permanently in Mailchimp`)
    }
  }
  if (tagPath || made.contactsSent) {
    lines.push(
      leftovers.length === 0 ? 'checked: nothing the probe created remains' : `${leftovers.length} left behind`
    )
  }
  return { lines, leftovers }
}
