import { z } from 'zod'

/** Answer of `GET https://login.mailchimp.com/oauth2/metadata`; only `dc` is documented. */
export const OAuthMetadata = z.object({ dc: z.string() })

/** `application/problem+json` body of a failed Marketing API call. Every field is optional so odd bodies still parse. */
export const Problem = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  instance: z.string().optional(),
  /** "Invalid Resource" lists the fields at fault. */
  errors: z.array(z.object({ field: z.string().optional(), message: z.string().optional() })).optional()
})
export type Problem = z.infer<typeof Problem>

/** `GET /lists/{list_id}?fields=id,name,double_optin` */
export const Audience = z.object({
  id: z.string(),
  name: z.string(),
  double_optin: z.boolean()
})
export type Audience = z.infer<typeof Audience>

/** One audience as `GET /lists` lists it, with only the fields the plugin asks for (`stats.member_count`: active). */
export const AudienceSummary = z.object({
  id: z.string(),
  name: z.string(),
  stats: z.object({ member_count: z.number().int().optional() }).optional()
})
export type AudienceSummary = z.infer<typeof AudienceSummary>

/** `GET /lists`: one page of the account's audiences. */
export const AudiencePage = z.object({
  lists: z.array(AudienceSummary),
  total_items: z.number().int()
})
export type AudiencePage = z.infer<typeof AudiencePage>

/** A static segment, which is what Mailchimp calls a tag. */
export const Tag = z.object({
  id: z.number().int(),
  name: z.string(),
  type: z.string().optional()
})
export type Tag = z.infer<typeof Tag>

/** `GET /lists/{list_id}/segments?type=static` */
export const TagPage = z.object({
  segments: z.array(Tag),
  total_items: z.number().int()
})

/** A 204 answer (DELETE): nothing to read. */
export const NoContent = z.object({})

/** The part of a member object the plugin reads; Mailchimp sends the whole contact. */
export const Member = z.object({ email_address: z.string() })

/**
 * The member lists of the two batch answers. Their length is read always; a member only when the answer must be read
 * address by address, and it is checked then (`answers.ts`): a batch answer that confirms everything costs no more.
 * Checked as an array without walking it (`z.array(z.unknown())` would visit and copy each of up to 500 members).
 */
const Members = z.custom<unknown[]>((value) => Array.isArray(value), 'expected an array')

/** Answer of a member upsert (`PUT /lists/{list_id}/members/{subscriber_hash}`): the contact as it now is. */
export const Contact = z.object({ email_address: z.string(), status: z.string().optional() })
export type Contact = z.infer<typeof Contact>

/** `GET /lists/{list_id}/segments/{segment_id}/members`: one page of the contacts carrying a tag. */
export const TagMemberPage = z.object({
  members: z.array(Member),
  total_items: z.number().int()
})

/** One of an audience's merge fields: `tag` (e.g. FNAME) is the key a contact's `merge_fields` uses. */
export const MergeField = z.object({
  tag: z.string(),
  name: z.string(),
  type: z.string().optional(),
  required: z.boolean().optional()
})
export type MergeField = z.infer<typeof MergeField>

/** `GET /lists/{list_id}/merge-fields` */
export const MergeFieldPage = z.object({
  merge_fields: z.array(MergeField),
  total_items: z.number().int()
})

/** Answer of `POST /lists/{list_id}` (batch subscribe). HTTP 200 even when rows fail: each failure is in `errors`. */
export const BatchSubscribeAnswer = z.object({
  new_members: Members,
  updated_members: Members,
  errors: z.array(
    z.object({
      email_address: z.string(),
      error: z.string().optional(),
      error_code: z.string().optional(),
      field: z.string().optional(),
      field_message: z.string().optional()
    })
  )
})
export type BatchSubscribeAnswer = z.infer<typeof BatchSubscribeAnswer>

/** Answer of `POST /lists/{list_id}/segments/{segment_id}` (batch add/remove on a tag). */
export const TagMembersAnswer = z.object({
  members_added: Members,
  members_removed: Members,
  errors: z.array(z.object({ email_addresses: z.array(z.string()), error: z.string().optional() }))
})
export type TagMembersAnswer = z.infer<typeof TagMembersAnswer>
