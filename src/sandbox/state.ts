import { createHash, randomBytes } from 'node:crypto'

export type MemberStatus = 'subscribed' | 'unsubscribed' | 'cleaned' | 'pending' | 'transactional' | 'archived'
type RequestedStatus = Exclude<MemberStatus, 'archived'>

export interface Member {
  hash: string
  /** Mailchimp's other ids for the contact; fixed at creation, so answers need not hash again. */
  unique_email_id: string
  contact_id: string
  email_address: string
  status: MemberStatus
  merge_fields: Record<string, unknown>
  created: string
  changed: string
}

export interface Segment {
  id: number
  name: string
  type: 'static' | 'saved'
  options?: Record<string, unknown>
  members: Set<string>
  created_at: string
  updated_at: string
}

export interface MergeField {
  merge_id: number
  tag: string
  name: string
  type: string
  required: boolean
  display_order: number
}

type MergeFieldSeed = { tag: string; name: string; type?: string; required?: boolean }

/** What Mailchimp gives a new audience. */
const DEFAULT_MERGE_FIELDS: MergeFieldSeed[] = [
  { tag: 'FNAME', name: 'First Name' },
  { tag: 'LNAME', name: 'Last Name' },
  { tag: 'ADDRESS', name: 'Address', type: 'address' },
  { tag: 'PHONE', name: 'Phone Number', type: 'phone' },
  { tag: 'BIRTHDAY', name: 'Birthday', type: 'birthday' }
]

export interface ContactInput {
  email_address: string
  status?: RequestedStatus
  status_if_new?: RequestedStatus
  merge_fields?: Record<string, unknown>
  tags?: string[]
}

/** Why Mailchimp refused one contact: batch subscribe reports it as a row, the member endpoints as a 400. */
export class Refusal extends Error {
  constructor(
    readonly title: string,
    readonly detail: string,
    readonly code: 'ERROR_GENERIC' | 'ERROR_CONTACT_EXISTS' = 'ERROR_GENERIC',
    readonly field?: { field: string; message: string }
  ) {
    super(detail)
  }
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex')
const normalize = (email: string) => email.trim().toLowerCase()
export const subscriberHash = (email: string) => md5(normalize(email))
/** Mailchimp's member paths take the subscriber hash or the raw address. */
export const hashOf = (ref: string) => (ref.includes('@') ? subscriberHash(ref) : ref.toLowerCase())
export const timestamp = () => new Date().toISOString().replace(/\.\d{3}Z$/, '+00:00')
const randomAudienceId = () => randomBytes(5).toString('hex')
const sameName = (a: string, b: string) => a.trim().toLowerCase() === b.trim().toLowerCase()
const scalar = (value: unknown) => typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))
const ADDRESS_PARTS = ['addr1', 'city', 'state', 'zip']

/** Strings fit every type, numbers every type but address; an address may also be `{addr1, city, state, zip, …}`. */
function fits(type: string, value: unknown): boolean {
  if (typeof value === 'string') return true
  if (type !== 'address') return scalar(value)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false
  const parts = Object.entries(value)
  return (
    ADDRESS_PARTS.every((key) => scalar((value as Record<string, unknown>)[key])) &&
    parts.every(([key, part]) => [...ADDRESS_PARTS, 'addr2', 'country'].includes(key) && scalar(part))
  )
}
const invalidMergeFields = (field: string, message: string) =>
  new Refusal('Invalid Resource', 'Your merge fields were invalid.', 'ERROR_GENERIC', { field, message })

/** One Mailchimp audience: its contacts, the addresses it has forgotten, and its segments (tags are static segments). */
export class Audience {
  readonly members = new Map<string, Member>() // by subscriber hash
  readonly forgotten = new Set<string>() // hashes of permanently deleted addresses
  readonly segments = new Map<number, Segment>()
  readonly created = timestamp()
  readonly mergeFields: MergeField[]

  constructor(
    readonly id: string,
    public name: string,
    public double_optin: boolean,
    private readonly nextSegmentId: () => number,
    private readonly fakeDomains: Set<string>,
    mergeFields: MergeFieldSeed[] = DEFAULT_MERGE_FIELDS,
    /** Whether member objects are answered whole, as Mailchimp sends them, rather than trimmed. */
    private readonly wholeMembers: () => boolean = () => false,
    /** How many writes the world has seen: a cached view is good while it stays the same. */
    private readonly writes: () => number = () => 0
  ) {
    this.mergeFields = mergeFields.map((f, i) => ({
      merge_id: i + 1,
      tag: f.tag,
      name: f.name,
      type: f.type ?? 'text',
      required: f.required ?? false,
      display_order: i + 2 // the address itself comes first
    }))
  }

  /** Merge tags match ignoring case. */
  mergeField(tag: string): MergeField | undefined {
    return this.mergeFields.find((f) => f.tag.toLowerCase() === tag.toLowerCase())
  }

  /**
   * Mailchimp's merge-field rules: every key must name a merge field, its value must fit the field's type, and a new
   * contact needs every required field unless the caller skips merge validation. Answers the values by their own tags.
   */
  mergeValues(given: Record<string, unknown> | undefined, requireAll: boolean): Record<string, unknown> {
    const values: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(given ?? {})) {
      const field = this.mergeField(key)
      const tag = field?.tag ?? key
      if (!field) throw invalidMergeFields(tag, `Merge field ${tag} does not exist.`)
      if (!fits(field.type, value)) throw invalidMergeFields(tag, `Merge field ${tag} has an invalid value.`)
      values[tag] = value
    }
    const missing = requireAll && this.mergeFields.find((f) => f.required && (values[f.tag] ?? '') === '')
    if (missing) throw invalidMergeFields(missing.tag, `Merge field ${missing.tag} is required.`)
    return values
  }

  mergeFieldView(field: MergeField) {
    const { merge_id, tag, name, type, required, display_order } = field
    return { merge_id, tag, name, type, required, default_value: '', public: true, display_order, list_id: this.id }
  }

  member(hashOrEmail: string): Member | undefined {
    return this.members.get(hashOf(hashOrEmail))
  }

  /** A contact that the segment endpoints treat as on the audience: archived contacts are not. */
  present(email: string): Member | undefined {
    const member = this.members.get(subscriberHash(email))
    return member && member.status !== 'archived' ? member : undefined
  }

  tagNamed(name: string): Segment | undefined {
    return [...this.segments.values()].find((s) => s.type === 'static' && sameName(s.name, name))
  }

  segmentNamed(name: string): Segment | undefined {
    return [...this.segments.values()].find((s) => sameName(s.name, name))
  }

  /** A segment with options is a saved one; without, a static one, i.e. a tag. */
  createSegment(name: string, options?: Record<string, unknown>): Segment {
    const now = timestamp()
    const segment: Segment = {
      id: this.nextSegmentId(),
      name: name.trim(),
      type: options ? 'saved' : 'static',
      ...(options && { options }),
      members: new Set(),
      created_at: now,
      updated_at: now
    }
    this.segments.set(segment.id, segment)
    return segment
  }

  tag(member: Member, name: string): void {
    const segment = this.tagNamed(name) ?? this.createSegment(name)
    segment.members.add(member.hash)
  }

  untag(member: Member, name: string): void {
    this.tagNamed(name)?.members.delete(member.hash)
  }

  tagsOf(member: Member): Segment[] {
    return [...this.segments.values()].filter((s) => s.type === 'static' && s.members.has(member.hash))
  }

  /** Mailchimp's per-contact rules, shared by batch subscribe, PUT and POST on members. */
  upsert(
    input: ContactInput,
    mode: { updateExisting: boolean; syncTags?: boolean; tagExisting?: boolean; skipMergeValidation?: boolean }
  ) {
    const email = input.email_address.trim()
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email)) {
      throw new Refusal('Invalid Resource', 'Please provide a valid email address.')
    }
    if (this.fakeDomains.has(email.split('@')[1].toLowerCase())) {
      throw new Refusal('Invalid Resource', `${email} looks fake or invalid, please enter a real email address.`)
    }
    const hash = subscriberHash(email)
    if (this.forgotten.has(hash)) {
      throw new Refusal(
        'Forgotten Email Not Subscribed',
        `${email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.`
      )
    }
    const existing = this.members.get(hash)
    if (!existing) {
      const status = input.status ?? input.status_if_new
      if (!status) throw new Refusal('Invalid Resource', 'A new contact needs a status or a status_if_new.')
      const mergeFields = this.mergeValues(input.merge_fields, !mode.skipMergeValidation)
      const member = this.create(email, status)
      Object.assign(member.merge_fields, mergeFields)
      for (const name of input.tags ?? []) this.tag(member, name)
      return { member, created: true }
    }
    if (!mode.updateExisting) {
      throw new Refusal(
        'Member Exists',
        `${email} is already a list member, do you want to update? please provide update_existing:true in the request body`,
        'ERROR_CONTACT_EXISTS'
      )
    }
    const mergeFields = this.mergeValues(input.merge_fields, false)
    // Only `status` changes an existing contact (and unarchives one); `status_if_new` never does.
    if (input.status) {
      if (input.status === 'subscribed' && (existing.status === 'unsubscribed' || existing.status === 'cleaned')) {
        throw new Refusal(
          'Member In Compliance State',
          `${email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.`
        )
      }
      existing.status = input.status
    }
    Object.assign(existing.merge_fields, mergeFields) // fields not sent keep their values
    if (mode.tagExisting && input.tags) {
      if (mode.syncTags) for (const s of this.tagsOf(existing)) s.members.delete(hash)
      for (const name of input.tags) this.tag(existing, name)
    }
    existing.changed = timestamp()
    return { member: existing, created: false }
  }

  /** `POST /lists/{id}`: every row gets its own outcome; a refused row changes nothing. */
  batchSubscribe(
    rows: ContactInput[],
    mode: { updateExisting: boolean; syncTags: boolean; skipDuplicates: boolean; skipMergeValidation?: boolean }
  ) {
    const created: Member[] = []
    const updated: Member[] = []
    const errors: Array<Record<string, string>> = []
    const keys = rows.map((row) => normalize(row.email_address))
    // Each address's first row and number of rows, in one pass: a request holds up to 500.
    const seen = new Map<string, { first: number; count: number }>()
    keys.forEach((key, i) => {
      const entry = seen.get(key)
      if (entry) entry.count++
      else seen.set(key, { first: i, count: 1 })
    })
    rows.forEach((row, i) => {
      const { first, count } = seen.get(keys[i])!
      const refuse = (error: string, error_code = 'ERROR_GENERIC', field = { field: '', message: '' }) =>
        errors.push({
          email_address: row.email_address,
          error,
          error_code,
          field: field.field,
          field_message: field.message
        })
      if (!mode.skipDuplicates && count > 1) {
        // Mailchimp's wording and which copy it keeps are unconfirmed; refusing every copy is the strict reading.
        return refuse(`${row.email_address.trim()} was provided more than once in this request.`)
      }
      if (first !== i) return // skip_duplicate_check: the first copy wins
      try {
        const result = this.upsert(row, { ...mode, tagExisting: true })
        ;(result.created ? created : updated).push(result.member)
      } catch (error) {
        if (!(error instanceof Refusal)) throw error
        refuse(error.detail, error.code, error.field)
      }
    })
    return { created, updated, errors }
  }

  /** Puts a contact in place as an operator's import would: no address checks, and a forgotten address comes back. */
  seed(contact: Omit<ContactInput, 'status'> & { status: MemberStatus }) {
    const email = contact.email_address.trim()
    const member = this.members.get(subscriberHash(email)) ?? this.create(email, contact.status)
    Object.assign(member, { status: contact.status, changed: timestamp() })
    for (const [key, value] of Object.entries(contact.merge_fields ?? {})) {
      member.merge_fields[this.mergeField(key)?.tag ?? key] = value // unchecked, but under the audience's own tag
    }
    for (const name of contact.tags ?? []) this.tag(member, name)
    this.forgotten.delete(member.hash)
  }

  private create(email: string, status: MemberStatus): Member {
    const now = timestamp()
    const hash = subscriberHash(email)
    const member = {
      hash,
      unique_email_id: md5(`unique:${hash}`).slice(0, 10),
      contact_id: md5(`contact:${hash}`),
      email_address: email,
      status,
      merge_fields: {},
      created: now,
      changed: now
    }
    this.members.set(member.hash, member)
    return member
  }

  /** Removes a contact for good; Mailchimp refuses to re-import the address afterwards. */
  forget(email: string): void {
    const hash = subscriberHash(email)
    this.members.delete(hash)
    for (const s of this.segments.values()) s.members.delete(hash)
    this.forgotten.add(hash)
  }

  memberView(member: Member) {
    const tags = this.tagsOf(member).map((s) => ({ id: s.id, name: s.name }))
    if (this.wholeMembers()) return wholeMember(this.id, member, tags)
    return {
      id: member.hash,
      email_address: member.email_address,
      unique_email_id: member.unique_email_id,
      contact_id: member.contact_id,
      email_type: 'html',
      status: member.status,
      merge_fields: member.merge_fields,
      timestamp_opt: member.created,
      last_changed: member.changed,
      source: 'API - Generic',
      tags_count: tags.length,
      tags,
      list_id: this.id
    }
  }

  /**
   * Mailchimp's segment endpoints take include_cleaned/include_transactional/include_unsubscribed flags, so by default
   * they leave those contacts out; this sandbox applies that reading to member_count and to the members listing.
   */
  segmentMembers(segment: Segment, include: Set<MemberStatus>): Member[] {
    // Paging through a tag of a million asks for the same list a thousand times: it is built once per write.
    const key = `${segment.id}:${[...include].sort().join(',')}`
    const cached = this.memberLists.get(key)
    if (cached && cached.writes === this.writes()) return cached.members
    const members = this.listSegmentMembers(segment, include)
    this.memberLists.set(key, { writes: this.writes(), members })
    return members
  }

  private readonly memberLists = new Map<string, { writes: number; members: Member[] }>()

  private listSegmentMembers(segment: Segment, include: Set<MemberStatus>): Member[] {
    const members = [...segment.members].map((hash) => this.members.get(hash))
    return members.filter((m): m is Member => m !== undefined && include.has(m.status))
  }

  segmentView(segment: Segment, include: Set<MemberStatus>) {
    const { id, name, type, options, created_at, updated_at } = segment
    const member_count = this.segmentMembers(segment, include).length
    return { id, name, member_count, type, created_at, updated_at, ...(options && { options }), list_id: this.id }
  }

  listView() {
    const count = (status: MemberStatus) => [...this.members.values()].filter((m) => m.status === status).length
    return {
      id: this.id,
      name: this.name,
      double_optin: this.double_optin,
      date_created: this.created,
      visibility: 'prv',
      stats: {
        member_count: count('subscribed'),
        unsubscribe_count: count('unsubscribed'),
        cleaned_count: count('cleaned'),
        total_contacts: this.members.size - count('archived')
      }
    }
  }
}

/** Every audience the sandbox holds; segment ids are unique across audiences, as Mailchimp's are. */
export class World {
  readonly audiences = new Map<string, Audience>()
  private lastSegmentId = 100

  /** Answer member objects whole (about 2.7 KB each, as Mailchimp does) instead of trimmed. */
  wholeMembers = false
  /** Counts every request or call that may change state; cached views are rebuilt when it moves. */
  writes = 0

  constructor(private readonly fakeDomains: Set<string>) {}

  add(seed: { id?: string; name?: string; double_optin?: boolean; merge_fields?: MergeFieldSeed[] } = {}): Audience {
    const id = seed.id ?? randomAudienceId()
    if (this.audiences.has(id)) throw new Error(`Audience ${id} already exists`)
    const tags = (seed.merge_fields ?? []).map((f) => f.tag.toLowerCase())
    if (new Set(tags).size !== tags.length) throw new Error('Merge tags must be unique, ignoring case')
    const audience = new Audience(
      id,
      seed.name ?? 'Sandbox audience',
      seed.double_optin ?? false,
      () => ++this.lastSegmentId,
      this.fakeDomains,
      seed.merge_fields,
      () => this.wholeMembers,
      () => this.writes
    )
    this.audiences.set(id, audience)
    return audience
  }

  /** For the sandbox's own views: an unknown id is a mistake in the test, so it throws. */
  audience(id: string): Audience {
    const audience = this.audiences.get(id)
    if (!audience) throw new Error(`No audience ${id} in the sandbox`)
    return audience
  }
}

const SCHEMA = 'https://us1.api.mailchimp.com/schema/3.0'

/**
 * A member object with every field of the official response schema (OpenAPI `ListMembers2`), `_links` included, as
 * Mailchimp answers the batch endpoints: what a real answer costs to send, parse and hold.
 */
function wholeMember(listId: string, member: Member, tags: { id: number; name: string }[]) {
  const self = `https://us1.api.mailchimp.com/3.0/lists/${listId}/members/${member.hash}`
  const link = (rel: string, href: string, method: string, target?: string, schema?: string) => ({
    rel,
    href,
    method,
    ...(target ? { targetSchema: `${SCHEMA}/${target}` } : {}),
    ...(schema ? { schema: `${SCHEMA}/${schema}` } : {})
  })
  return {
    id: member.hash,
    email_address: member.email_address,
    unique_email_id: member.unique_email_id,
    contact_id: member.contact_id,
    full_name: '',
    web_id: parseInt(member.hash.slice(0, 8), 16),
    email_type: 'html',
    status: member.status,
    consents_to_one_to_one_messaging: true,
    sms_phone_number: '',
    sms_subscription_status: '',
    sms_subscription_last_updated: '',
    merge_fields: member.merge_fields,
    interests: {},
    stats: {
      avg_open_rate: 0,
      avg_click_rate: 0,
      ecommerce_data: { total_revenue: 0, number_of_orders: 0, currency_code: 'USD' }
    },
    ip_signup: '',
    timestamp_signup: '',
    ip_opt: '127.0.0.1',
    timestamp_opt: member.created,
    member_rating: 2,
    last_changed: member.changed,
    language: '',
    vip: false,
    email_client: '',
    location: { latitude: 0, longitude: 0, gmtoff: 0, dstoff: 0, country_code: '', timezone: '', region: '' },
    marketing_permissions: [],
    last_note: { note_id: 0, created_at: '', created_by: '', note: '' },
    source: 'API - Generic',
    tags_count: tags.length,
    tags,
    list_id: listId,
    _links: [
      link('self', self, 'GET', 'Definitions/Lists/Members/Response.json'),
      link(
        'parent',
        `https://us1.api.mailchimp.com/3.0/lists/${listId}/members`,
        'GET',
        'Definitions/Lists/Members/CollectionResponse.json',
        'Paths/Lists/Members/Collection.json'
      ),
      link('update', self, 'PATCH', 'Definitions/Lists/Members/Response.json', 'Definitions/Lists/Members/PATCH.json'),
      link('upsert', self, 'PUT', 'Definitions/Lists/Members/Response.json', 'Definitions/Lists/Members/PUT.json'),
      link('delete', self, 'DELETE'),
      link('activity', `${self}/activity`, 'GET', 'Definitions/Lists/Members/Activity/Response.json'),
      link('goals', `${self}/goals`, 'GET', 'Definitions/Lists/Members/Goals/Response.json'),
      link('notes', `${self}/notes`, 'GET', 'Definitions/Lists/Members/Notes/CollectionResponse.json'),
      link('events', `${self}/events`, 'POST', undefined, 'Definitions/Lists/Members/Events/POST.json'),
      link('delete_permanent', `${self}/actions/delete-permanent`, 'POST')
    ]
  }
}
