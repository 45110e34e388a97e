import { z } from 'zod'

/** Answer of `GET https://login.mailchimp.com/oauth2/metadata`; only `dc` is documented. */
export const OAuthMetadata = z.object({ dc: z.string() })

/** `application/problem+json` body of a failed Marketing API call. Every field is optional so odd bodies still parse. */
export const Problem = z.object({
  type: z.string().optional(),
  title: z.string().optional(),
  status: z.number().optional(),
  detail: z.string().optional(),
  instance: z.string().optional()
})
export type Problem = z.infer<typeof Problem>

/** `GET /lists/{list_id}?fields=id,name,double_optin` */
export const Audience = z.object({
  id: z.string(),
  name: z.string(),
  double_optin: z.boolean()
})
export type Audience = z.infer<typeof Audience>

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
