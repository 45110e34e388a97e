import { IntegrationError, InvalidAudienceMembershipError, PayloadValidationError } from '@segment/actions-core'
import { CONTACTS_PER_REQUEST, MAX_EMAIL_LENGTH } from '../constants'
import { checkEmail } from '../email'
import { checkTagId, checkTagName, quote } from '../validation'
import type { Payload } from './generated-types'

export type StatusIfNew = NonNullable<Payload['status_if_new']>

/** One contact's wanted state in one tag, decided by the last of the events that carried it. */
export interface ContactChange {
  /** The address as the winning event gave it, trimmed. */
  email: string
  /** The address folded for matching: Mailchimp compares emails ignoring letter case. */
  key: string
  /** true: the contact carries the tag afterwards; false: it does not. */
  inCohort: boolean
  statusIfNew: StatusIfNew
  /** Merge field values by merge tag (upper case) to write on the contact, from the winning event; none when absent. */
  mergeFields?: Record<string, unknown>
  /** The index of the event that decided the change: the last one about this contact and tag. */
  event: number
  /** The indices of earlier events about the same contact and tag, in batch order, when there were any. */
  earlier: number[] | undefined
}

/*
 * Readers of a contact for the steps' array callbacks. Written as module functions: a callback written inline is a new
 * closure for every chunk, and V8 compiled such hot callbacks again for about every other arm of the bench (found by
 * matching `--trace-opt` with `--log-code`).
 */
export const emailOfContact = (contact: ContactChange): string => contact.email
export const skipsCreation = (contact: ContactChange): boolean => contact.statusIfNew === 'skip'
export const mayBeCreated = (contact: ContactChange): boolean => contact.statusIfNew !== 'skip'
export const carriesMergeFields = (contact: ContactChange): boolean => Boolean(contact.mergeFields)
export const lacksMergeFields = (contact: ContactChange): boolean => !contact.mergeFields
export const takesAudienceDefault = (contact: ContactChange): boolean => contact.statusIfNew === 'audience_default'

/** At most 500 adds and 500 removes: what one Mailchimp request of each kind carries. */
export interface Chunk {
  adds: ContactChange[]
  removes: ContactChange[]
}

/** Every change for one tag. */
export interface TagPlan {
  /** The tag id from `createAudience` (external_audience_id), when the events carried one. */
  tagId?: string
  /** The tag name, used to find or create the tag when no id is known, or when the tag was deleted. */
  tagName?: string
  chunks: Chunk[]
}

export interface Plan {
  tags: TagPlan[]
  /** Events that cannot be synced, with the error that says what to fix. */
  refused: { index: number; error: IntegrationError }[]
}

export interface PlanInput {
  payloads: Payload[]
  /** The membership actions-core resolved for each event (Engage audiences, Reverse ETL sync modes). */
  memberships?: (boolean | undefined)[]
  /** The Email Property setting. */
  emailProperty: string
  /** The Tag Name audience setting: the tag's name when set, as in `createAudience`. */
  tagName?: string
}

/**
 * Reads a payload field. Optimized code that reads an object's properties directly relies on its hidden class, and
 * V8 drops the hidden class of actions-core's payloads at a full garbage collection that runs while no batch is in
 * flight; it then throws the planner's optimized code away and compiles it again for the next batch. `Reflect.get` is a
 * generic read that relies on no hidden class: a few nanoseconds a read, against the compiling (docs/benchmarks.md).
 */
function field<K extends keyof Payload>(payload: Payload, key: K): Payload[K] {
  return Reflect.get(payload, key)
}

/** Reads a user property without walking the prototype chain (`__proto__`, `constructor` are just missing). */
function ownProperty(properties: unknown, name: string): unknown {
  if (typeof properties !== 'object' || properties === null || Array.isArray(properties)) return undefined
  // A generic read, as in `field`: user properties are payload objects too.
  return Object.prototype.hasOwnProperty.call(properties, name) ? Reflect.get(properties, name) : undefined
}

function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined
}

/**
 * The event's email address as it is sent, and its key for matching: the Email field when set, else the user property
 * the settings name.
 */
function emailOf(payload: Payload, emailProperty: string): { email: string; key: string } {
  const given = field(payload, 'email')
  const explicit = typeof given === 'string' ? given.trim() : ''
  const value: unknown = explicit !== '' ? explicit : ownProperty(field(payload, 'user_properties'), emailProperty)
  const trimmed = typeof value === 'string' ? value.trim() : undefined
  if (value === undefined || value === null || trimmed === '') {
    throw new PayloadValidationError(
      `No email address: the Email field is empty and ${sourceOf(explicit, emailProperty)} is missing or empty. Send the email in that property, or change the Email Property setting.`
    )
  }
  if (trimmed === undefined) {
    throw new PayloadValidationError(
      `No email address: ${sourceOf(explicit, emailProperty)} holds a ${typeof value}, not an email address.`
    )
  }
  const checked = checkEmail(trimmed)
  if (!checked.ok) {
    const length =
      trimmed.length > MAX_EMAIL_LENGTH ? ` (${trimmed.length} characters; ${MAX_EMAIL_LENGTH} at most)` : ''
    throw new PayloadValidationError(
      `Not an email address: ${sourceOf(explicit, emailProperty)} holds ${quote(trimmed)}${length || `: ${checked.rule}`}.`
    )
  }
  return checked
}

/** Where a refused email came from; named only then, since every event passes through `emailOf`. */
function sourceOf(explicit: string, emailProperty: string): string {
  return explicit !== '' ? 'the Email field' : `user property ${quote(emailProperty)} (Email Property setting)`
}

/** In the cohort or not: the In Cohort field when mapped, else the membership actions-core resolved. */
function membershipOf(payload: Payload, resolved: boolean | undefined): boolean {
  const inCohort = field(payload, 'in_cohort')
  if (typeof inCohort === 'boolean') return inCohort
  if (typeof resolved === 'boolean') return resolved
  throw new InvalidAudienceMembershipError(
    'Cannot tell whether this contact is in the cohort: map In Cohort to true or false, or send Engage audience events or Reverse ETL syncs, whose membership Segment resolves.'
  )
}

/** Which tag: the id `createAudience` returned when the event has one, else the tag named after the cohort. */
function tagOf(payload: Payload, tagNameSetting?: string): { tagId?: string; tagName?: string } {
  const name = nonEmpty(tagNameSetting) ?? nonEmpty(field(payload, 'cohort_name'))
  const id = nonEmpty(field(payload, 'external_audience_id'))
  if (id !== undefined) {
    let tagName: string | undefined
    try {
      // Only needed should the tag have been deleted; an unusable name must not fail an event that has an id.
      tagName = name === undefined ? undefined : checkTagName(name)
    } catch {
      tagName = undefined
    }
    return { tagId: checkTagId(id), tagName }
  }
  if (name === undefined) {
    throw new PayloadValidationError(
      'No cohort: the event has neither a Mailchimp Tag ID nor a Cohort Name. Map Cohort Name to the property that names the cohort.'
    )
  }
  return { tagName: checkTagName(name) }
}

/**
 * The Merge Fields to write, keyed by upper-case merge tag. Empty values are left out: a blank trait must not erase
 * what Mailchimp holds.
 */
function mergeFieldsOf(given: Payload['merge_fields']): Record<string, unknown> | undefined {
  if (typeof given !== 'object' || given === null || Array.isArray(given)) return undefined
  const values = Object.entries(given).flatMap(([tag, value]) =>
    tag.trim() === '' || value === undefined || value === null || (typeof value === 'string' && value.trim() === '')
      ? []
      : [[tag.trim().toUpperCase(), value] as const]
  )
  return values.length > 0 ? Object.fromEntries(values) : undefined
}

function chunksOf(contacts: ContactChange[]): Chunk[] {
  const adds: ContactChange[] = []
  const removes: ContactChange[] = []
  for (const contact of contacts) (contact.inCohort ? adds : removes).push(contact)
  const count = Math.max(
    Math.ceil(adds.length / CONTACTS_PER_REQUEST),
    Math.ceil(removes.length / CONTACTS_PER_REQUEST)
  )
  return Array.from({ length: count }, (_, i) => ({
    adds: adds.slice(i * CONTACTS_PER_REQUEST, (i + 1) * CONTACTS_PER_REQUEST),
    removes: removes.slice(i * CONTACTS_PER_REQUEST, (i + 1) * CONTACTS_PER_REQUEST)
  }))
}

/**
 * Turns a batch of events into the changes Mailchimp must make, without any I/O: each event's email, membership and
 * tag are read and checked; events about the same contact and tag fold into one change (the last event wins); the
 * changes are grouped by tag and cut into chunks of 500, Mailchimp's limit per request.
 */
export function planSync({ payloads, memberships = [], emailProperty, tagName }: PlanInput): Plan {
  const refused: Plan['refused'] = []
  const grouping: Grouping = { groups: new Map(), tagName, last: undefined }
  const property = emailProperty.trim() || 'email'

  for (let index = 0; index < payloads.length; index++) {
    const payload = payloads[index]
    let address: { email: string; key: string }, inCohort: boolean, group: TagGroup
    try {
      address = emailOf(payload, property)
      inCohort = membershipOf(payload, memberships[index])
      group = groupOf(grouping, payload)
    } catch (error) {
      refused.push({ index, error: error as IntegrationError })
      continue
    }
    const { email, key } = address
    const before = group.contacts.get(key)
    let earlier: number[] | undefined
    if (before !== undefined) {
      // The earlier events' indices carry over without copying: many duplicates of one email stay linear.
      earlier = before.earlier ?? []
      earlier.push(before.event)
    }
    group.contacts.set(key, {
      email,
      key,
      inCohort,
      statusIfNew: field(payload, 'status_if_new') ?? 'audience_default',
      mergeFields: mergeFieldsOf(field(payload, 'merge_fields')),
      event: index,
      earlier
    })
  }

  return {
    tags: [...grouping.groups.values()].map(({ tagId, tagName: name, contacts }) => ({
      tagId,
      tagName: name,
      chunks: chunksOf([...contacts.values()])
    })),
    refused
  }
}

interface TagGroup {
  tagId?: string
  tagName?: string
  contacts: Map<string, ContactChange>
}

/** A plan's tag groups, and the tag of the last event read. */
interface Grouping {
  groups: Map<string, TagGroup>
  /** The Tag Name audience setting. */
  tagName: string | undefined
  /** A batch nearly always carries one cohort: its tag is read and checked once, not once per event. */
  last: { name?: string; id?: string; group: TagGroup | IntegrationError } | undefined
}

/**
 * The event's tag group; throws the error that says what to fix when its tag is unusable. A function of its own rather
 * than a closure made for each plan: V8 compiled such a closure again for about every other bench arm.
 */
function groupOf(grouping: Grouping, payload: Payload): TagGroup {
  const name = field(payload, 'cohort_name')
  const id = field(payload, 'external_audience_id')
  let last = grouping.last
  if (last === undefined || last.name !== name || last.id !== id) {
    let group: TagGroup | IntegrationError
    try {
      group = tagGroup(grouping.groups, tagOf(payload, grouping.tagName))
    } catch (error) {
      group = error as IntegrationError
    }
    last = grouping.last = { name, id, group }
  }
  if (last.group instanceof Error) throw last.group
  return last.group
}

/** The group of the tag: one per tag id, or per name (ignoring case) when no id is known. */
function tagGroup(groups: Map<string, TagGroup>, tag: { tagId?: string; tagName?: string }): TagGroup {
  const tagKey = tag.tagId !== undefined ? `id:${tag.tagId}` : `name:${(tag.tagName ?? '').toLowerCase()}`
  let group = groups.get(tagKey)
  if (!group) {
    group = { ...tag, contacts: new Map() }
    groups.set(tagKey, group)
  }
  group.tagName ??= tag.tagName
  return group
}
