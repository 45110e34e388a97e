/**
 * The command's own words. The destination speaks to operators of a host's UI (settings, fields, mappings); the
 * command's operator has options instead, so every message the command prints is put in those words here.
 */

/** The sandbox's notion of a fake address, for messages in sandbox mode. */
export interface SandboxWords {
  fakeDomains: string[]
}

const REPLACEMENTS: [RegExp, string][] = [
  [/the Email field is empty and /g, ''],
  [/user property ("[^"]*") \(Email Property setting\)/g, 'column $1 (--email-column)'],
  [
    /Send the email in that property, or change the Email Property setting\./g,
    'Fill it in, or name another column with --email-column.'
  ],
  [/the Email Property setting/g, '--email-column'],
  [/Shorten the cohort name or set a shorter Tag Name\./g, 'Give a shorter --cohort.'],
  [/give the cohort a name or set Tag Name\./g, 'give --cohort a name.'],
  [/Check the Audience ID setting \(audience_id\)\./g, 'Check --audience.'],
  [/The Audience ID setting \(audience_id\)/g, '--audience'],
  [
    /Reconnect Mailchimp in the destination settings\./g,
    'Reconnect Mailchimp: put a new token in MAILCHIMP_ACCESS_TOKEN (or a new key in MAILCHIMP_API_KEY).'
  ],
  [/connect Mailchimp in the destination settings\./g, 'set MAILCHIMP_ACCESS_TOKEN or MAILCHIMP_API_KEY.'],
  [/with Status for New Contacts set to Skip/g, 'with --status-if-new skip'],
  [/choose another Status for New Contacts/g, 'choose another --status-if-new'],
  [/Status for New Contacts/g, '--status-if-new'],
  [/Fix the Merge Fields mapping/g, 'Fix --merge-field'],
  [/Merge Fields/g, '--merge-field values']
]

/** A message of the destination's, in the command's words; in sandbox mode, "looks fake" says what the sandbox means. */
export function inCommandWords(message: string, sandbox?: SandboxWords): string {
  let text = REPLACEMENTS.reduce((current, [pattern, replacement]) => current.replace(pattern, replacement), message)
  if (sandbox && /looks fake/.test(text)) text = `${text} ${fakeDomainsNote(sandbox.fakeDomains)}`
  return text
}

/** What the sandbox refuses as fake, as Mailchimp does. */
function fakeDomainsNote(domains: string[]): string {
  const list =
    domains.length > 1 ? `${domains.slice(0, -1).join(', ')} and ${domains[domains.length - 1]}` : (domains[0] ?? '')
  return `(The sandbox, like Mailchimp, refuses addresses at ${list} as fake: use other domains to try a file.)`
}
