import type { Connection } from '../connection'
import { eachBounded } from '../mailchimp/limits'
import type { NewContact } from '../mailchimp/client'
import type { Settled } from './outcomes'
import { carriesMergeFields, lacksMergeFields } from './plan'
import type { ContactChange } from './plan'
import { settledOne } from './steps'
import { asSyncError, isContactRefusal, isFatal, mergeFieldsRefused, unknownMergeFields } from './refusals'
import type { SyncError } from './refusals'

/** A contact's merge field values, under the audience's own spelling of each merge tag. */
export type MergeFieldValues = Record<string, unknown>

/** A contact whose merge fields are to be written, spelled as the audience spells its tags. */
export interface MergeWrite {
  contact: ContactChange
  values: MergeFieldValues
  statusIfNew: NewContact['status']
}

/** No contact's Merge Fields to write: shared, never written to. */
const NO_VALUES: ReadonlyMap<ContactChange, MergeFieldValues> = new Map()

const unknownIn = (contact: ContactChange, known: Map<string, string>) =>
  Object.keys(contact.mergeFields ?? {}).filter((tag) => !known.has(tag))

/**
 * The batch's merge-field work for one audience: checking that the Merge Fields a contact carries name fields the
 * audience has, and writing them on contacts that already exist. The audience's merge tags are read once per batch,
 * and only when some contact carries Merge Fields.
 */
export class MergeFields {
  private known?: Promise<{ tags: Map<string, string>; cached: boolean }>
  private refreshed = false

  constructor(
    private readonly connection: Connection,
    private readonly audienceId: string
  ) {}

  /**
   * The joiners that may go on, and their Merge Fields spelled as the audience spells its merge tags; a joiner naming a
   * merge tag the audience lacks is settled with an error naming it, as is every carrier when the list cannot be read.
   */
  async spell(
    joiners: ContactChange[]
  ): Promise<{ ready: ContactChange[]; values: ReadonlyMap<ContactChange, MergeFieldValues>; settled: Settled[] }> {
    // The common case, no contact carrying Merge Fields, is told without building anything.
    if (!joiners.some(carriesMergeFields)) return { ready: joiners, values: NO_VALUES, settled: [] }
    const values = new Map<ContactChange, MergeFieldValues>()
    const carrying = joiners.filter(carriesMergeFields)
    let known: Map<string, string>
    try {
      known = await this.mergeTags(carrying)
    } catch (caught) {
      const error = asSyncError(caught)
      return {
        ready: joiners.filter(lacksMergeFields),
        values,
        settled: [{ contacts: carrying, outcome: { ok: false, error } }]
      }
    }
    const ready: ContactChange[] = []
    const settled: Settled[] = []
    for (const contact of joiners) {
      const unknown = contact.mergeFields ? unknownIn(contact, known) : []
      if (unknown.length > 0) {
        const error = unknownMergeFields(unknown, [...known.values()], this.audienceId)
        settled.push(settledOne(contact, { ok: false, error }))
        continue
      }
      if (contact.mergeFields) {
        const spelled = Object.entries(contact.mergeFields).map(([tag, value]) => [known.get(tag) as string, value])
        values.set(contact, Object.fromEntries(spelled))
      }
      ready.push(contact)
    }
    return { ready, values, settled }
  }

  /**
   * Writes merge fields on contacts that already existed (or whose creation Mailchimp did not confirm), one member
   * upsert each: the only documented way to update a contact that leaves its status alone. Returns the contacts
   * written, and the others settled with why; those are not tagged, so their event can be sent again whole. `halted`
   * says when an error elsewhere means nothing more may be sent.
   */
  async upsert(
    contacts: MergeWrite[],
    limit: number,
    halted: () => SyncError | undefined
  ): Promise<{ written: Set<ContactChange>; settled: Settled[] }> {
    const written = new Set<ContactChange>()
    const settled: Settled[] = []
    /** A revoked token or a missing audience seen here stops the writes still waiting. */
    let stop: SyncError | undefined
    await eachBounded(contacts, limit, async ({ contact, values, statusIfNew }) => {
      const halt = stop ?? halted()
      if (halt) {
        settled.push(settledOne(contact, { ok: false, error: halt }))
        return
      }
      try {
        await this.connection.client.updateMergeFields(this.audienceId, contact.email, statusIfNew, values)
        written.add(contact)
      } catch (caught) {
        const error = asSyncError(caught)
        if (isFatal(error)) stop ??= error
        const refused = isContactRefusal(error) ? mergeFieldsRefused(error.message) : error
        settled.push(settledOne(contact, { ok: false, error: refused }))
      }
    })
    return { written, settled }
  }

  /**
   * The audience's merge tags by upper-case tag. A cached list may predate a merge field the operator just added: when
   * it lacks a tag some contact names, Mailchimp is asked once more (once per batch). Should that fail, the list in
   * hand serves, for this chunk and later ones.
   */
  private async mergeTags(carrying: ContactChange[]): Promise<Map<string, string>> {
    this.known ??= this.connection.lookups.mergeTags(this.audienceId)
    const { tags, cached } = await this.known
    if (!cached || !carrying.some((contact) => unknownIn(contact, tags).length > 0)) return tags
    if (!this.refreshed) {
      this.refreshed = true
      const inHand = this.known
      this.known = this.connection.lookups.mergeTags(this.audienceId, { fresh: true }).catch(() => inHand)
    }
    return (await this.known).tags
  }
}
