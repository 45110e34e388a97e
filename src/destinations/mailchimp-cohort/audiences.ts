import { IntegrationError } from '@segment/actions-core'
import type { DynamicFieldResponse, RequestClient } from '@segment/actions-core'
import { AUDIENCE_ID_HELP } from './constants'
import { connect } from './connection'
import type { MailchimpClient } from './mailchimp/client'
import type { AudienceSummary } from './mailchimp/schemas'
import type { ResolvedOptions } from './options'
import { checkAudienceId, plural, quote } from './validation'
import type { AudienceIdSource } from './validation'

// Which Mailchimp audience a call works in (the cohort's own, else the destination's), the picker that lists the
// account's audiences, and the hint naming them when an audience ID is unknown.

/** The audience a call works in, and where its ID came from, so that errors name the field to fix. */
export interface AudienceChoice {
  id: string
  source: AudienceIdSource
}

/** How many audiences an "unknown audience" error names. */
export const AUDIENCES_NAMED = 5

/**
 * The audience of a cohort: its own Mailchimp Audience ID (audience settings) when one is set, else the destination's
 * Audience ID setting. An empty cohort value means "the destination's"; any other value must be a valid ID.
 */
export function audienceFor(
  settings: { audience_id?: unknown },
  audienceSettings?: { audience_id?: unknown }
): AudienceChoice {
  const own = audienceSettings?.audience_id
  const unset = own === undefined || own === null || (typeof own === 'string' && own.trim() === '')
  if (!unset) return { id: checkAudienceId(own, 'cohort'), source: 'cohort' }
  return { id: checkAudienceId(settings.audience_id, 'setting'), source: 'setting' }
}

/** "Newsletter — 57afe96172 — 1,204 subscribed contacts": what an operator picks an audience by. */
function choiceOf(audience: AudienceSummary): DynamicFieldResponse['choices'][number] {
  const count = audience.stats?.member_count
  const contacts =
    count === undefined ? undefined : `${count.toLocaleString('en-US')} subscribed ${plural(count, 'contact')}`
  return {
    label: [audience.name, audience.id, contacts].filter(Boolean).join(' — '),
    value: audience.id,
    description: `Audience ID ${audience.id}${contacts ? `; ${contacts} (Mailchimp's count of active contacts)` : ''}.`
  }
}

/**
 * The account's audiences as choices for an audience ID field (the destination's setting or a cohort's), narrowed to
 * those whose name or ID contains `query` when the host sends what the operator typed.
 */
export async function audienceChoices(
  request: RequestClient,
  input: { settings?: unknown; auth?: { accessToken?: string }; query?: string },
  options: ResolvedOptions
): Promise<DynamicFieldResponse> {
  try {
    const { client } = connect(request, { auth: input.auth, settings: input.settings }, options)
    const wanted = input.query?.trim().toLowerCase() ?? ''
    const choices: DynamicFieldResponse['choices'] = []
    for await (const page of client.audiences()) {
      for (const audience of page) {
        const matches = `${audience.name}\n${audience.id}`.toLowerCase().includes(wanted)
        if (matches) choices.push(choiceOf(audience))
      }
    }
    return { choices }
  } catch (error) {
    // The settings screen shows this message; the operator can still type the ID by hand.
    return {
      choices: [],
      error: {
        message: `Could not list the Mailchimp audiences: ${(error as Error).message} You can still type the Audience ID. ${AUDIENCE_ID_HELP}`,
        code: (error as { code?: string }).code ?? 'AUDIENCES_UNAVAILABLE'
      }
    }
  }
}

/** Whether Mailchimp said the audience does not exist (the client's AUDIENCE_NOT_FOUND). */
export function isUnknownAudience(error: unknown): error is IntegrationError {
  return error instanceof IntegrationError && error.code === 'AUDIENCE_NOT_FOUND'
}

/** `"Newsletter" (57afe96172), "Customers" (a1b2c3d4e5) and 3 more` */
function named(page: { lists: AudienceSummary[]; total_items: number }): string {
  const shown = page.lists.slice(0, AUDIENCES_NAMED).map((audience) => `${quote(audience.name)} (${audience.id})`)
  const more = Math.max(0, page.total_items - shown.length)
  return more > 0 ? `${shown.join(', ')} and ${more} more` : shown.join(', ')
}

/** What the operator reads when Mailchimp does not know the audience: which field to fix, and which IDs would do. */
export function unknownAudienceMessage(
  choice: AudienceChoice,
  visible?: { lists: AudienceSummary[]; total_items: number }
): string {
  const fix =
    choice.source === 'cohort'
      ? "Fix the cohort's Mailchimp Audience ID (audience_id in its audience settings), or leave it empty to use the destination's Audience ID."
      : 'Check the Audience ID setting (audience_id).'
  const seen =
    visible === undefined
      ? ''
      : visible.lists.length === 0
        ? ' This connection sees no audience in the account: create one in Mailchimp first.'
        : ` Audiences this connection can see: ${named(visible)}.`
  return `Mailchimp has no audience "${choice.id}" in this account. ${fix}${seen} ${AUDIENCE_ID_HELP}`
}

/**
 * The error to report for `error`: when Mailchimp does not know the audience, one more request lists up to five
 * audiences the token can see, and the message names them. Any other error, or a failed listing, is left as it is.
 */
export async function explainUnknownAudience(
  client: MailchimpClient,
  choice: AudienceChoice,
  error: unknown
): Promise<unknown> {
  if (!isUnknownAudience(error)) return error
  let visible: { lists: AudienceSummary[]; total_items: number }
  try {
    visible = await client.firstAudiences(AUDIENCES_NAMED)
  } catch {
    return new IntegrationError(unknownAudienceMessage(choice), 'AUDIENCE_NOT_FOUND', 404)
  }
  return new IntegrationError(unknownAudienceMessage(choice, visible), 'AUDIENCE_NOT_FOUND', 404)
}

/** Runs `work`; an unknown audience is reported with the audiences the token can see. */
export async function inAudience<T>(
  client: MailchimpClient,
  choice: AudienceChoice,
  work: () => Promise<T>
): Promise<T> {
  try {
    return await work()
  } catch (error) {
    throw await explainUnknownAudience(client, choice, error)
  }
}
