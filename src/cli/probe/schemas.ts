import { z } from 'zod'

// What the probe reads of Mailchimp's answers. Loose on purpose: the probe observes Mailchimp, so a field missing
// from an answer (a partial response, say) is a finding to report, not a failure to parse.

const Member = z.looseObject({
  email_address: z.string(),
  status: z.string().optional(),
  tags: z.array(z.looseObject({ name: z.string() })).optional()
})

/** `GET /lists/{list_id}/members/{subscriber_hash}` */
export const MemberAnswer = Member

/** `POST /lists/{list_id}` (batch subscribe) */
export const BatchSubscribeAnswer = z.looseObject({
  new_members: z.array(z.looseObject({ email_address: z.string() })).optional(),
  updated_members: z.array(z.looseObject({ email_address: z.string() })).optional(),
  errors: z
    .array(
      z.looseObject({ email_address: z.string(), error: z.string().optional(), error_code: z.string().optional() })
    )
    .optional()
})
export type BatchSubscribeAnswer = z.infer<typeof BatchSubscribeAnswer>

/** `POST /lists/{list_id}/segments/{segment_id}` (add or remove the tag) */
export const TagAnswer = z.looseObject({
  members_added: z.array(z.looseObject({ email_address: z.string() })).optional(),
  members_removed: z.array(z.looseObject({ email_address: z.string() })).optional(),
  errors: z.array(z.looseObject({ email_addresses: z.array(z.string()), error: z.string().optional() })).optional()
})
export type TagAnswer = z.infer<typeof TagAnswer>

/** `POST /lists/{list_id}/segments` */
export const Segment = z.looseObject({ id: z.number().int() })

/** `GET /lists/{list_id}` */
export const Audience = z.looseObject({ id: z.string(), double_optin: z.boolean().optional() })

/** The OAuth metadata answer: only `dc` is documented. */
export const Metadata = z.looseObject({ dc: z.string() })

/** Mailchimp's `application/problem+json` error body. */
export const Problem = z.looseObject({ title: z.string().optional(), detail: z.string().optional() })
