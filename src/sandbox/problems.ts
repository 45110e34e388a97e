import { randomUUID } from 'node:crypto'

/** Mailchimp's documentation page that every problem document links to. */
const ERRORS_TYPE = 'https://mailchimp.com/developer/marketing/docs/errors/'

/** An `application/problem+json` answer; handlers throw it and the server writes it. */
export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly extra: Record<string, unknown> = {}
  ) {
    super(`${status} ${title}: ${detail}`)
  }

  body(): Record<string, unknown> {
    const { status, title, detail } = this
    return { type: ERRORS_TYPE, title, status, detail, instance: randomUUID(), ...this.extra }
  }
}

export const notFound = () => new Problem(404, 'Resource Not Found', 'The requested resource could not be found.')

export const methodNotAllowed = () =>
  new Problem(405, 'Method Not Allowed', 'The requested method and resource are not compatible.')

export const invalidResource = (detail: string, errors?: Array<{ field: string; message: string }>) =>
  new Problem(400, 'Invalid Resource', detail, errors ? { errors } : {})

export const schemaInvalid = (errors: Array<{ field: string; message: string }>) =>
  invalidResource(
    "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
    errors
  )

export const badRequest = (detail: string) => new Problem(400, 'Bad Request', detail)

export const apiKeyInvalid = () =>
  new Problem(
    401,
    'API Key Invalid',
    "Your API key may be invalid, or you've attempted to access the wrong datacenter."
  )

export const tooManyRequests = (cap: number) =>
  new Problem(429, 'TooManyRequests', `You have exceeded the limit of ${cap} simultaneous connections.`)

export const internalError = () =>
  new Problem(
    500,
    'InternalServerError',
    'An unexpected internal error has occurred. Please contact Support for more information.'
  )

export const serviceUnavailable = () =>
  new Problem(503, 'Service Unavailable', 'The service is temporarily unavailable. Please try again later.')

export const jsonParse = () =>
  new Problem(400, 'JSON Parse Exception', 'We encountered an unspecified JSON parsing error.')
