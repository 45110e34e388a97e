import { creationsFrom, EVERY_ROW_CREATED, UNCONFIRMED } from '../mailchimp/answers'
import type { Creation, Said } from '../mailchimp/answers'
import type { NewContact } from '../mailchimp/client'
import type { MergeFieldValues, MergeWrite } from './merge-fields'
import type { Settled } from './outcomes'
import { takesAudienceDefault } from './plan'
import type { ContactChange } from './plan'
import { asSyncError, creationRefused } from './refusals'
import { failed, settledOne } from './steps'
import type { StepContext } from './steps'

/** What batch subscribe decided for the chunk's joiners. */
export interface Created {
  /** What Mailchimp said of each address that may go on to the tag call; undefined for those not sent (Skip). */
  creations: Said<Creation>
  /** The merge fields of the rows sent, for the contacts that already existed to get through their own upsert. */
  writes: MergeWrite[]
  /** The refused (fake, permanently deleted…) and, when the request failed, everyone. */
  settled: Settled[]
}

const NONE: Created = { creations: new Map(), writes: [], settled: [] }

/**
 * Creates the contacts that are not in the audience yet, with Mailchimp's batch subscribe: each row built once, with the
 * status it gets should it be new; existing contacts are left exactly as they are. `everyJoiner` says the contacts are
 * all the chunk's joiners (Skip kept none out), so an answer that created every row needs no reading at all.
 */
export async function createMissing(
  step: StepContext,
  contacts: ContactChange[],
  values: ReadonlyMap<ContactChange, MergeFieldValues>,
  everyJoiner: boolean
): Promise<Created> {
  if (contacts.length === 0) return NONE
  const halt = step.halted()
  if (halt) return { ...NONE, settled: failed(contacts, halt) }
  const writes: MergeWrite[] = []
  let said: Said<Creation>
  try {
    // The audience's default is read only when some contact takes it.
    const fallback = contacts.some(takesAudienceDefault)
      ? await step.connection.lookups.audienceDefault(step.audienceId)
      : 'subscribed'
    const rows = rowsFor(contacts, values, fallback, writes)
    said = creationsFrom(await step.connection.client.addNewContacts(step.audienceId, rows), rows.length)
  } catch (caught) {
    return { ...NONE, settled: failed(contacts, asSyncError(caught)) }
  }
  if (said === EVERY_ROW_CREATED && everyJoiner) return { creations: said, writes, settled: [] }
  const creations = new Map<string, Creation>()
  const settled: Settled[] = []
  for (const contact of contacts) {
    const creation = said.get(contact.key) ?? UNCONFIRMED
    if (creation.kind === 'forgotten' || creation.kind === 'refused') {
      settled.push(settledOne(contact, { ok: false, error: creationRefused(creation) }))
    } else {
      // Compliance-state and unconfirmed addresses may still be contacts the tag can go on: the tag call decides.
      creations.set(contact.key, creation)
    }
  }
  return { creations, writes, settled }
}

/**
 * Batch subscribe's rows, each built once with the status it gets should Mailchimp create it; the merge fields to write
 * go to `writes`. A function of its own with a plain loop: a callback made for each chunk was compiled again by V8 for
 * about every other bench arm, and the same loop inside the async step ran slower still.
 */
function rowsFor(
  contacts: ContactChange[],
  values: ReadonlyMap<ContactChange, MergeFieldValues>,
  fallback: NewContact['status'],
  writes: MergeWrite[]
): NewContact[] {
  const rows: NewContact[] = []
  for (const contact of contacts) {
    const status = takesAudienceDefault(contact) ? fallback : (contact.statusIfNew as NewContact['status'])
    const merge = values.get(contact)
    if (merge) writes.push({ contact, values: merge, statusIfNew: status })
    rows.push(
      merge ? { email_address: contact.email, status, merge_fields: merge } : { email_address: contact.email, status }
    )
  }
  return rows
}
