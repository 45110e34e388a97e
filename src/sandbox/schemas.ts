import { z } from 'zod'
import { schemaInvalid } from './problems'

/** Statuses a client may ask for; `archived` is only ever the result of a DELETE. */
const status = z.enum(['subscribed', 'unsubscribed', 'cleaned', 'pending', 'transactional'])
const mergeFields = z.record(z.string(), z.unknown())
const emails = z.array(z.string())

/** Validates a request body, answering Mailchimp's "Invalid Resource" with a field list when it does not fit. */
export function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body)
  if (result.success) return result.data
  throw schemaInvalid(result.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })))
}

// Addresses stay plain strings here: Mailchimp refuses a bad address row by row, not the whole request.
export const batchSubscribe = z.object({
  members: z
    .array(
      z
        .looseObject({
          email_address: z.string(),
          status: status.optional(),
          status_if_new: status.optional(),
          merge_fields: mergeFields.optional(),
          tags: z.array(z.string()).optional()
        })
        .refine((m) => m.status !== undefined || m.status_if_new !== undefined, {
          message: 'Each member needs a status or a status_if_new.',
          path: ['status']
        })
    )
    .max(500),
  update_existing: z.boolean().optional(),
  sync_tags: z.boolean().optional()
})

export const segmentCreate = z.object({
  name: z.string().trim().min(1),
  static_segment: emails.optional(),
  options: z.looseObject({}).optional()
})

export const segmentUpdate = segmentCreate.partial()

// The 500 cap is checked after parsing so the answer can carry Mailchimp's own detail.
export const segmentBatch = z.object({ members_to_add: emails.optional(), members_to_remove: emails.optional() })

export const memberUpsert = z.looseObject({
  email_address: z.string().optional(),
  status: status.optional(),
  status_if_new: status.optional(),
  merge_fields: mergeFields.optional(),
  tags: z.array(z.string()).optional()
})

export const memberCreate = memberUpsert.extend({ email_address: z.string(), status })

export const memberTags = z.object({
  tags: z.array(z.object({ name: z.string().trim().min(1), status: z.enum(['active', 'inactive']) })),
  is_syncing: z.boolean().optional()
})

// Admin API bodies.
export const faultSpec = z.object({
  kind: z.union([z.literal([429, 401, 403, 500, 502, 503]), z.enum(['reset', 'stall', 'malformed'])]),
  times: z.number().int().positive().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  pathPattern: z.string().max(200).optional(),
  retryAfter: z.number().nonnegative().optional(),
  applied: z.boolean().optional(),
  holdMs: z.number().nonnegative().optional()
})

export const audienceSeed = z.object({
  id: z
    .string()
    .regex(/^[A-Za-z0-9]+$/)
    .optional(),
  name: z.string().optional(),
  double_optin: z.boolean().optional(),
  merge_fields: z
    .array(
      z.object({
        tag: z.string().min(1),
        name: z.string(),
        type: z.string().optional(),
        required: z.boolean().optional()
      })
    )
    .optional()
})

export const contactSeeds = z.array(
  z.object({
    email_address: z.string(),
    status: z.enum([...status.options, 'archived']),
    tags: z.array(z.string()).optional(),
    merge_fields: mergeFields.optional()
  })
)

export const latency = z.object({ ms: z.number().nonnegative() })
export const answers = z.object({ size: z.enum(['lean', 'mailchimp']) })
export const tokenBody = z.object({ token: z.string() })
export const emailBody = z.object({ email: z.string() })
