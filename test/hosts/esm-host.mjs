// An ES module host, as a host platform would write one. test/package.test.ts runs it from a folder where the packed
// tarball is installed, with a local sandbox's address in the environment; it prints what it saw, line by line.
import { createRequire } from 'node:module'
import destination, * as plugin from 'mailchimp-cohort-destination'

// actions-core 3.170 cannot be imported from an ES module (ERR_UNSUPPORTED_DIR_IMPORT): load it with require.
const require = createRequire(import.meta.url)
const { Destination, defaultValues } = require('@segment/actions-core')

const { SANDBOX_URL, SANDBOX_TOKEN, AUDIENCE_ID } = process.env
const fromRequire = require('mailchimp-cohort-destination')

console.log(`default export: ${destination.name} (${destination.slug})`)
console.log(`same definition as require: ${destination === fromRequire.default}`)
console.log(
  `named exports: ${Object.keys(plugin)
    .filter((name) => name !== 'default')
    .join(', ')}`
)
new Destination(destination) // the real-Mailchimp definition registers, as a host registers it

// The same plugin pointed at the sandbox, as an embedding program does; operators' settings cannot do this.
const mailchimp = new Destination(
  plugin.mailchimpCohorts({
    endpoints: { metadataUrl: `${SANDBOX_URL}/oauth2/metadata`, apiBaseUrl: () => `${SANDBOX_URL}/3.0` }
  })
)
const settings = { audience_id: AUDIENCE_ID, email_property: 'email', oauth: { access_token: SANDBOX_TOKEN } }
await mailchimp.testAuthentication(settings)
const { externalId } = await mailchimp.createAudience({ settings, audienceName: 'Power users' })
console.log(`tag "Power users": id ${externalId}`)

// The host's metrics sink; the plugin reports through it.
const metrics = []
const statsClient = {
  incr: (name, value, tags) => metrics.push({ name, value, tags }),
  histogram: (name, value, tags) => metrics.push({ name, value, tags }),
  set: (name, value, tags) => metrics.push({ name, value, tags }),
  observe: () => {},
  _name: (name) => name,
  _tags: (tags) => tags ?? []
}

const engage = (email, inCohort) => ({
  type: 'identify',
  traits: { email, power_users: inCohort },
  context: {
    personas: { computation_class: 'audience', computation_key: 'power_users', external_audience_id: externalId }
  }
})
const { oauth, ...actionSettings } = settings
const results = await mailchimp.executeBatch('syncCohort', {
  events: [
    engage('new.joiner@mail.sample-shop.dev', true),
    engage('old.leaver@mail.sample-shop.dev', false),
    engage('not-an-email', true)
  ],
  mapping: defaultValues(destination.actions.syncCohort.fields),
  settings: actionSettings,
  auth: { accessToken: oauth.access_token, refreshToken: '' },
  statsContext: { statsClient, tags: ['host:esm-example'] }
})
mailchimp.responses = [] // actions-core keeps every response of the destination's lifetime: drop them per batch
console.log(`batch of ${results.length} events:`)
for (const result of results) {
  const detail = result.body?.result ?? result.errormessage?.replace(/:.*/, '')
  console.log(`  ${result.status} ${detail}`)
}
console.log(`metrics reported: ${metrics.length}`)
