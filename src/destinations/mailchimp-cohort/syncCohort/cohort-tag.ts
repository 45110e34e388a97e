import { IntegrationError } from '@segment/actions-core'
import type { Connection } from '../connection'
import { tagNotFound } from '../mailchimp/client'

/**
 * The tag of one cohort while a batch is synced: its id is looked up once, and should Mailchimp say the tag is gone,
 * it is found again (or re-created) by name once, however many requests noticed.
 */
export class CohortTag {
  private current?: Promise<string | undefined>
  private readonly replacements = new Map<string, Promise<string | undefined>>()

  /**
   * @param known the tag id the events carried (from `createAudience`) and the name to fall back on
   * @param create whether a missing tag is created; a batch that only removes the tag has no use for a new one
   */
  constructor(
    private readonly connection: Connection,
    private readonly audienceId: string,
    private readonly known: { tagId?: string; tagName?: string },
    private readonly create: boolean
  ) {}

  /** The tag's id; undefined when no tag of that name exists and none was to be created, so no contact carries it. */
  id(): Promise<string | undefined> {
    this.current ??= this.lookUp()
    return this.current
  }

  /** Called when Mailchimp says `staleId` does not exist: the id that replaces it, or an error naming the tag. */
  replace(staleId: string): Promise<string | undefined> {
    let replacement = this.replacements.get(staleId)
    if (!replacement) {
      replacement = this.lookUpAgain(staleId)
      this.replacements.set(staleId, replacement)
      this.current = replacement
    }
    return replacement
  }

  private async lookUp(): Promise<string | undefined> {
    const { tagId, tagName } = this.known
    if (tagId !== undefined) return this.connection.lookups.movedTag(this.audienceId, tagId) ?? tagId
    return this.byName(tagName ?? '', false)
  }

  private async lookUpAgain(staleId: string): Promise<string | undefined> {
    const { tagId, tagName } = this.known
    if (tagName === undefined) {
      // Nothing to find it by. Blame the audience if it is the audience that is gone, else name the tag.
      await this.connection.client.getAudience(this.audienceId)
      throw new IntegrationError(
        `${tagNotFound(this.audienceId, staleId)} Map Cohort Name so the plugin can find or re-create the tag by name, or recreate the audience in Segment.`,
        'TAG_NOT_FOUND',
        404
      )
    }
    const id = await this.byName(tagName, true)
    if (tagId !== undefined && id !== undefined) this.connection.lookups.tagMoved(this.audienceId, tagId, id)
    return id
  }

  private byName(name: string, fresh: boolean): Promise<string | undefined> {
    return this.connection.lookups.tagId(this.audienceId, name, { fresh, create: this.create })
  }
}
