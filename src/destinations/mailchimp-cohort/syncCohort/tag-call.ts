import { joinVerdict, leaveVerdict, tagAnswerFrom } from '../mailchimp/answers'
import type { Creation, Said, TagAnswer } from '../mailchimp/answers'
import type { CohortTag } from './cohort-tag'
import type { ContactResult, Failed, Settled } from './outcomes'
import { emailOfContact } from './plan'
import type { ContactChange } from './plan'
import { asSyncError, isMissingTag, noTagToAdd, notJoined, tagRefused } from './refusals'
import { keepLayout } from './layouts'
import { failed, settledOne } from './steps'
import type { StepContext } from './steps'

/** The chunk's change to its tag, and what the steps before learnt of its joiners. */
export interface TagChange {
  joiners: ContactChange[]
  leavers: ContactChange[]
  creations: Said<Creation>
  /** Whether Mailchimp confirmed writing the contact's Merge Fields. */
  written: (contact: ContactChange) => boolean
}

/**
 * One add/remove call for the chunk, and what it means for each contact. A tag deleted in Mailchimp is found or
 * re-created by name once, then the call is sent again.
 */
export async function updateTag(step: StepContext, tag: CohortTag, change: TagChange): Promise<Settled[]> {
  const { joiners, leavers } = change
  if (joiners.length === 0 && leavers.length === 0) return []
  const halt = step.halted()
  if (halt) return failed([...joiners, ...leavers], halt)
  let tagId: string | undefined
  try {
    tagId = await tag.id()
    let answer: TagAnswer | undefined
    if (tagId !== undefined) {
      try {
        answer = await send(step, tagId, change)
      } catch (error) {
        if (!isMissingTag(error)) throw error
        tagId = await tag.replace(tagId)
        // Should the replacement be missing too, that 404 stands.
        if (tagId !== undefined) answer = await send(step, tagId, change)
      }
    }
    if (tagId === undefined || answer === undefined) {
      // No tag of that name exists, and none is created for removals only: nobody carries it.
      const results = new Results(change.written)
      for (const contact of leavers) results.succeeded(contact, 'not_tagged')
      return [...results.settled(), ...failed(joiners, noTagToAdd())]
    }
    return settle(answer, tagId, change)
  } catch (caught) {
    return failed([...joiners, ...leavers], asSyncError(caught), tagId)
  }
}

async function send(step: StepContext, tagId: string, { joiners, leavers }: TagChange): Promise<TagAnswer> {
  const add = joiners.map(emailOfContact)
  const remove = leavers.map(emailOfContact)
  const answer = await step.connection.client.updateTagMembers(step.audienceId, tagId, add, remove)
  return tagAnswerFrom(answer, { add: add.length, remove: remove.length })
}

/** Reads Mailchimp's answer back onto each contact: what it confirmed, and its reason for each address it refused. */
function settle(answer: TagAnswer, tagId: string, { joiners, leavers, creations, written }: TagChange): Settled[] {
  const results = new Results(written, tagId)
  for (const contact of joiners) {
    const verdict = joinVerdict(contact.key, creations.get(contact.key), answer)
    if (verdict.ok) results.succeeded(contact, verdict.result)
    else results.failed(contact, notJoined(verdict))
  }
  for (const contact of leavers) {
    const verdict = leaveVerdict(contact.key, answer)
    if (verdict.ok) results.succeeded(contact, verdict.result)
    else results.failed(contact, tagRefused(verdict.reason))
  }
  return results.settled()
}

/**
 * The outcomes of one tag call, gathered: contacts without Merge Fields share one outcome per result (a chunk has
 * 500), so a call that confirmed everything yields one entry, not one per contact.
 */
class Results {
  private readonly shared = new Map<ContactResult, Settled>()
  private readonly own: Settled[] = []

  constructor(
    private readonly written: (contact: ContactChange) => boolean,
    private readonly tagId?: string
  ) {}

  succeeded(contact: ContactChange, result: ContactResult): void {
    if (contact.mergeFields) {
      // Whether Mailchimp confirmed writing the contact's Merge Fields is its own.
      const mergeFields = this.written(contact) ? 'written' : 'not_written'
      this.own.push(settledOne(contact, { ok: true, result, tagId: this.tagId, mergeFields }))
      return
    }
    const group = this.shared.get(result)
    if (group) group.contacts.push(contact)
    else this.shared.set(result, settledOne(contact, { ok: true, result, tagId: this.tagId }))
  }

  failed(contact: ContactChange, error: Failed['error']): void {
    this.own.push(settledOne(contact, { ok: false, error, tagId: this.tagId }))
  }

  settled(): Settled[] {
    return [...this.shared.values(), ...this.own]
  }
}

keepLayout(new Results(() => false))
