import { badRequest, invalidResource, notFound, Problem, schemaInvalid } from './problems'
import { route, type Route } from './router'
import * as schemas from './schemas'
import {
  Audience,
  ContactInput,
  hashOf,
  Member,
  MemberStatus,
  Refusal,
  Segment,
  subscriberHash,
  timestamp,
  World
} from './state'

interface Site {
  url: string
  dataCenter: string
}

const flag = (query: URLSearchParams, name: string) => query.get(name) === 'true'

/** `count` (default 10, at most 1000) and `offset`, as every Mailchimp collection takes them. */
function paging(query: URLSearchParams): { count: number; offset: number } {
  const count = Number(query.get('count') ?? 10)
  const offset = Number(query.get('offset') ?? 0)
  if (!Number.isInteger(count) || count < 0 || count > 1000) {
    // The exact answer past the cap is unconfirmed; a 400 is the documented reading of "maximum 1000".
    throw badRequest('The count parameter must be an integer from 0 to 1000.')
  }
  if (!Number.isInteger(offset) || offset < 0) throw badRequest('The offset parameter must be a non-negative integer.')
  return { count, offset }
}

/** Statuses a segment endpoint counts and lists, widened by its include_* flags. */
function included(query: URLSearchParams): Set<MemberStatus> {
  const statuses = new Set<MemberStatus>(['subscribed', 'pending'])
  if (flag(query, 'include_cleaned')) statuses.add('cleaned')
  if (flag(query, 'include_transactional')) statuses.add('transactional')
  if (flag(query, 'include_unsubscribed')) statuses.add('unsubscribed')
  return statuses
}

/** The member endpoints answer a refused contact with a 400 named after the reason. */
function upsertOne(
  audience: Audience,
  input: ContactInput,
  mode: { updateExisting: boolean; skipMergeValidation: boolean }
): Member {
  try {
    return audience.upsert(input, mode).member
  } catch (error) {
    if (!(error instanceof Refusal)) throw error
    throw new Problem(400, error.title, error.detail, error.field && { errors: [error.field] })
  }
}

const ok = (body: unknown) => ({ status: 200, body })
const noContent = { status: 204 }

export function mailchimpRoutes(world: World, site: Site): Route[] {
  const audienceOf = (params: Record<string, string>): Audience => world.audiences.get(params.list_id) ?? fail()
  const fail = (): never => {
    throw notFound()
  }
  const segmentOf = (audience: Audience, id: string): Segment | undefined =>
    /^\d+$/.test(id) ? audience.segments.get(Number(id)) : undefined
  const memberOf = (audience: Audience, hash: string): Member => audience.member(hash) ?? fail()
  const nameTaken = (audience: Audience, name: string, except?: Segment) => {
    const other = audience.segmentNamed(name)
    // Mailchimp's answer for a duplicate name is unconfirmed; the sandbox refuses it like any invalid body.
    if (other && other !== except) throw invalidResource(`A tag or segment named "${name.trim()}" already exists.`)
  }
  const account = { account_id: 'sandbox', account_name: 'Sandbox', email: 'owner@sandbox.invalid', role: 'owner' }
  const metadata = () =>
    ok({
      dc: site.dataCenter,
      role: 'owner',
      accountname: 'Sandbox',
      user_id: 1,
      login: { email: account.email, avatar: null, login_id: 1, login_name: 'sandbox', login_email: account.email },
      login_url: 'https://login.mailchimp.com',
      api_endpoint: site.url
    })

  return [
    // Mailchimp's Ruby sample POSTs the metadata call, so both methods answer.
    route('/oauth2/metadata', { GET: metadata, POST: metadata }),
    route('/3.0/', { GET: () => ok({ ...account, login_id: '1' }) }),
    route('/3.0/ping', { GET: () => ok({ health_status: "Everything's Chimpy!" }) }),
    // Every audience of the account, `count` at a time from `offset` (OAS `getLists`); `fields` applies to every GET.
    route('/3.0/lists', {
      GET: ({ query }) => {
        const { count, offset } = paging(query)
        const all = [...world.audiences.values()]
        const lists = all.slice(offset, offset + count).map((a) => a.listView())
        return ok({ lists, total_items: all.length })
      }
    }),
    route('/3.0/lists/{list_id}', {
      GET: ({ params }) => ok(audienceOf(params).listView()),
      POST: ({ params, query, body }) => {
        const audience = audienceOf(params)
        const request = schemas.parse(schemas.batchSubscribe, body)
        const options = { updateExisting: request.update_existing === true, syncTags: request.sync_tags === true }
        const { created, updated, errors } = audience.batchSubscribe(request.members, {
          ...options,
          skipDuplicates: flag(query, 'skip_duplicate_check'),
          skipMergeValidation: flag(query, 'skip_merge_validation')
        })
        return ok({
          new_members: created.map((m) => audience.memberView(m)),
          updated_members: updated.map((m) => audience.memberView(m)),
          errors,
          total_created: created.length,
          total_updated: updated.length,
          error_count: errors.length
        })
      }
    }),
    route('/3.0/lists/{list_id}/merge-fields', {
      GET: ({ params, query }) => {
        const audience = audienceOf(params)
        const { count, offset } = paging(query)
        const all = audience.mergeFields
        const merge_fields = all.slice(offset, offset + count).map((f) => audience.mergeFieldView(f))
        return ok({ merge_fields, list_id: audience.id, total_items: all.length })
      }
    }),
    route('/3.0/lists/{list_id}/segments', {
      GET: ({ params, query }) => {
        const audience = audienceOf(params)
        const { count, offset } = paging(query)
        const type = query.get('type')
        const excluded = query.get('exclude_type')
        const all = [...audience.segments.values()].filter((s) => (!type || s.type === type) && s.type !== excluded)
        const include = included(query)
        const segments = all.slice(offset, offset + count).map((s) => audience.segmentView(s, include))
        return ok({ segments, total_items: all.length, list_id: audience.id })
      },
      POST: ({ params, query, body }) => {
        const audience = audienceOf(params)
        const request = schemas.parse(schemas.segmentCreate, body)
        if (!request.static_segment && !request.options) {
          throw invalidResource('Must provide either an "options" field or a "static_segment" field')
        }
        if (request.static_segment && request.options) {
          throw invalidResource('A segment takes either an "options" field or a "static_segment" field, not both.')
        }
        nameTaken(audience, request.name)
        const segment = audience.createSegment(request.name, request.options)
        for (const email of request.static_segment ?? []) {
          const member = audience.present(email)
          if (member) segment.members.add(member.hash)
        }
        return ok(audience.segmentView(segment, included(query)))
      }
    }),
    route('/3.0/lists/{list_id}/segments/{segment_id}', {
      GET: ({ params, query }) => {
        const audience = audienceOf(params)
        return ok(audience.segmentView(segmentOf(audience, params.segment_id) ?? fail(), included(query)))
      },
      PATCH: ({ params, query, body }) => {
        const audience = audienceOf(params)
        const segment = segmentOf(audience, params.segment_id) ?? fail()
        const request = schemas.parse(schemas.segmentUpdate, body)
        if (request.name !== undefined) {
          nameTaken(audience, request.name, segment)
          segment.name = request.name
        }
        // Mailchimp documents that static_segment replaces the members; an empty array empties the tag.
        if (request.static_segment && segment.type === 'static') {
          segment.members = new Set(request.static_segment.flatMap((email) => audience.present(email)?.hash ?? []))
        }
        if (request.options && segment.type === 'saved') segment.options = request.options
        segment.updated_at = timestamp()
        return ok(audience.segmentView(segment, included(query)))
      },
      DELETE: ({ params }) => {
        const audience = audienceOf(params)
        audience.segments.delete((segmentOf(audience, params.segment_id) ?? fail()).id)
        return noContent
      },
      POST: ({ params, body }) => {
        const audience = audienceOf(params)
        const request = schemas.parse(schemas.segmentBatch, body)
        const toAdd = request.members_to_add ?? []
        const toRemove = request.members_to_remove ?? []
        if (toAdd.length > 500 || toRemove.length > 500) {
          throw invalidResource('Maximum allowed member items exceeded. The limit is 500 per request.')
        }
        const segment = segmentOf(audience, params.segment_id)
        if (segment?.type !== 'static') {
          throw invalidResource(`A Static Segment with an id of ${params.segment_id} does not exist for this list`)
        }
        // Unconfirmed choices: addresses not on the audience, and no-op adds/removes, are left out of every list.
        const change = (emails: string[], add: boolean) => {
          const changed = new Map<string, Member>()
          for (const email of emails) {
            const member = audience.present(email)
            if (!member || segment.members.has(member.hash) === add) continue
            if (add) segment.members.add(member.hash)
            else segment.members.delete(member.hash)
            changed.set(member.hash, member)
          }
          return [...changed.values()]
        }
        const added = change(toAdd, true)
        const removed = change(toRemove, false)
        if (added.length + removed.length > 0) segment.updated_at = timestamp()
        return ok({
          members_added: added.map((m) => audience.memberView(m)),
          members_removed: removed.map((m) => audience.memberView(m)),
          errors: [],
          total_added: added.length,
          total_removed: removed.length,
          error_count: 0
        })
      }
    }),
    route('/3.0/lists/{list_id}/segments/{segment_id}/members', {
      GET: ({ params, query }) => {
        const audience = audienceOf(params)
        const segment = segmentOf(audience, params.segment_id) ?? fail()
        const { count, offset } = paging(query)
        const all = audience.segmentMembers(segment, included(query))
        const members = all.slice(offset, offset + count).map((m) => audience.memberView(m))
        return ok({ members, total_items: all.length, list_id: audience.id })
      }
    }),
    route('/3.0/lists/{list_id}/tag-search', {
      GET: ({ params, query }) => {
        const audience = audienceOf(params)
        const prefix = (query.get('name') ?? '').toLowerCase()
        const tags = [...audience.segments.values()]
          .filter((s) => s.type === 'static' && s.name.toLowerCase().startsWith(prefix))
          .map((s) => ({ id: s.id, name: s.name }))
        return ok({ tags, total_items: tags.length })
      }
    }),
    route('/3.0/lists/{list_id}/members', {
      POST: ({ params, query, body }) => {
        const audience = audienceOf(params)
        const request = schemas.parse(schemas.memberCreate, body)
        const email = request.email_address.trim()
        if (audience.member(email)) {
          throw new Problem(
            400,
            'Member Exists',
            `${email} is already a list member. Use PUT to insert or update list members.`
          )
        }
        const mode = { updateExisting: false, skipMergeValidation: flag(query, 'skip_merge_validation') }
        return ok(audience.memberView(upsertOne(audience, request, mode)))
      }
    }),
    route('/3.0/lists/{list_id}/members/{subscriber_hash}', {
      GET: ({ params }) => {
        const audience = audienceOf(params)
        return ok(audience.memberView(memberOf(audience, params.subscriber_hash)))
      },
      PUT: ({ params, query, body }) => {
        const audience = audienceOf(params)
        const request = schemas.parse(schemas.memberUpsert, body)
        const existing = audience.member(params.subscriber_hash)
        const email = existing?.email_address ?? request.email_address
        if (email === undefined) {
          throw schemaInvalid([{ field: 'email_address', message: 'A new contact needs an email_address.' }])
        }
        if (!existing && subscriberHash(email) !== hashOf(params.subscriber_hash)) {
          throw invalidResource('The subscriber hash in the path does not match the email_address.')
        }
        // Tags on PUT are documented for creation only; the sandbox leaves an existing contact's tags alone.
        const mode = { updateExisting: true, skipMergeValidation: flag(query, 'skip_merge_validation') }
        return ok(audience.memberView(upsertOne(audience, { ...request, email_address: email }, mode)))
      },
      DELETE: ({ params }) => {
        const member = memberOf(audienceOf(params), params.subscriber_hash)
        if (member.status === 'cleaned' || member.status === 'pending' || member.status === 'archived') {
          throw new Problem(
            405,
            'Method Not Allowed',
            'This list member cannot be removed. Can not archive a contact that is bounced, pending or archived'
          )
        }
        member.status = 'archived'
        return noContent
      }
    }),
    route('/3.0/lists/{list_id}/members/{subscriber_hash}/tags', {
      POST: ({ params, body }) => {
        const audience = audienceOf(params)
        const member = memberOf(audience, params.subscriber_hash)
        const request = schemas.parse(schemas.memberTags, body)
        for (const tag of request.tags) {
          if (tag.status === 'active') audience.tag(member, tag.name)
          else audience.untag(member, tag.name)
        }
        return noContent
      }
    }),
    route('/3.0/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent', {
      POST: ({ params }) => {
        const audience = audienceOf(params)
        audience.forget(memberOf(audience, params.subscriber_hash).email_address)
        return noContent
      }
    })
  ]
}
