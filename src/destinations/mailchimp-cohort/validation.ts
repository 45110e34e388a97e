import { IntegrationError, PayloadValidationError } from '@segment/actions-core'
import { AUDIENCE_ID_HELP, TAG_NAME_LIMIT } from './constants'

const AUDIENCE_ID = /^[A-Za-z0-9]+$/
const TAG_ID = /^[0-9]+$/
const DATA_CENTER = /^[a-z]+[0-9]+$/

/** Mailchimp's audience IDs have 10 characters; a longer value is a paste gone wrong, and would only make a huge URL. */
const MAX_AUDIENCE_ID_LENGTH = 64
/** Tag ids are integers, far shorter than this; a longer value would only make a huge URL. */
const MAX_TAG_ID_LENGTH = 20
/** The data center is one DNS label of the API hostname, and a label holds at most 63 characters. */
const MAX_DATA_CENTER_LENGTH = 63

/** The noun for a count in a message: `one` for exactly 1, `many` otherwise ("1 contact", "2 contacts"). */
export function plural(count: number, one: string, many = `${one}s`): string {
  return count === 1 ? one : many
}

/** Keeps user input short and printable inside an error message. */
export function quote(value: string, max = 60): string {
  // A code point takes at most two UTF-16 units, so the head decides, however long the value is.
  const head = Array.from(value.slice(0, 2 * max + 1))
  const shown = head.length > max ? `${head.slice(0, max).join('')}…` : value
  return JSON.stringify(shown)
}

/** Unicode code points, counted without building an array of a possibly huge string. */
function codePointCount(value: string): number {
  let count = 0
  for (const _ of value) count++
  return count
}

/** For values read back from a cache: anything that is not a data center counts as a miss. */
export function isDataCenter(value: string | undefined): value is string {
  return value !== undefined && value.length <= MAX_DATA_CENTER_LENGTH && DATA_CENTER.test(value)
}

/** For values read back from a cache: anything that is not a tag id counts as a miss. */
export function isTagId(value: string | undefined): value is string {
  return value !== undefined && value.length <= MAX_TAG_ID_LENGTH && TAG_ID.test(value)
}

/** Where an audience ID came from: the destination's setting, or one cohort's audience settings. */
export type AudienceIdSource = 'setting' | 'cohort'

/** How an error names the field an audience ID came from, so the operator knows which one to fix. */
export const AUDIENCE_ID_FIELD: Record<AudienceIdSource, string> = {
  setting: 'The Audience ID setting (audience_id)',
  cohort: "The cohort's Mailchimp Audience ID (audience_id in its audience settings)"
}

/** The audience ID goes into every URL path, so only letters and digits pass. */
export function checkAudienceId(audienceId: unknown, source: AudienceIdSource = 'setting'): string {
  const id = typeof audienceId === 'string' ? audienceId.trim() : ''
  const field = AUDIENCE_ID_FIELD[source]
  if (id.length > MAX_AUDIENCE_ID_LENGTH) {
    throw new PayloadValidationError(
      `${field} has ${id.length} characters, more than ${MAX_AUDIENCE_ID_LENGTH}; Mailchimp's look like "57afe96172". Copy it again from Mailchimp. ${AUDIENCE_ID_HELP}`
    )
  }
  if (!AUDIENCE_ID.test(id)) {
    throw new PayloadValidationError(
      `${field} must be letters and digits only, like "57afe96172"; got ${quote(
        String(audienceId ?? '')
      )}. ${AUDIENCE_ID_HELP}`
    )
  }
  return id
}

/** Tag ids come back from Mailchimp as integers; anything else never reaches a URL. */
export function checkTagId(tagId: unknown): string {
  const id = typeof tagId === 'number' ? String(tagId) : typeof tagId === 'string' ? tagId.trim() : ''
  if (id.length > MAX_TAG_ID_LENGTH) {
    throw new PayloadValidationError(
      `A Mailchimp tag id is a number of at most ${MAX_TAG_ID_LENGTH} digits; got one of ${id.length} characters. Recreate the audience in this destination.`
    )
  }
  if (!TAG_ID.test(id)) {
    throw new PayloadValidationError(
      `A Mailchimp tag id is a number; got ${quote(String(tagId ?? ''))}. Recreate the audience in this destination.`
    )
  }
  return id.replace(/^0+(?=[0-9])/, '')
}

/** Tag names are trimmed, must not be empty and must be fewer than 88 Unicode code points. */
export function checkTagName(name: unknown): string {
  const trimmed = typeof name === 'string' ? name.trim() : ''
  if (!trimmed) {
    throw new PayloadValidationError('The Mailchimp tag name is empty: give the cohort a name or set Tag Name.')
  }
  const length = codePointCount(trimmed)
  if (length >= TAG_NAME_LIMIT) {
    throw new PayloadValidationError(
      `Mailchimp tag names must be fewer than ${TAG_NAME_LIMIT} characters; ${quote(trimmed)} has ${length}. ` +
        'Shorten the cohort name or set a shorter Tag Name.'
    )
  }
  return trimmed
}

/** The data center becomes part of a hostname, so it must look like Mailchimp's (`us6`, `us21`). */
export function checkDataCenter(dc: unknown): string {
  if (typeof dc !== 'string' || !isDataCenter(dc)) {
    throw new IntegrationError(
      `Mailchimp's OAuth metadata named an unexpected data center (${quote(String(dc ?? ''))}); no request was sent to it.`,
      'INVALID_DATA_CENTER',
      502
    )
  }
  return dc
}
