import { createServer } from 'http'
import type { AddressInfo } from 'net'
import { mailchimpCohorts } from '../src'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'
import { connect, engage, expectAllLanded, host } from '../bench/host'
import { minimalDestination } from '../bench/minimal'

// The bench's fair floor must send exactly the requests syncCohort sends, or the ratios it reports measure the
// difference between two requests as well as the plugin's own cost. The bench runs the package's build; here the
// sources stand in for it.
jest.mock('../bench/package', () => ({ pkg: jest.requireActual('../src') }))

const TOKEN = 'sandbox-token'

interface Request {
  method: string
  path: string
  headers: Record<string, unknown>
  body: string
}

/**
 * A loopback proxy in front of the sandbox that keeps every request as it arrived: method, path with query, headers
 * and body. The plugins talk to it as they would to Mailchimp, so nothing in the process is patched.
 */
async function recordingProxy(target: string) {
  const requests: Request[] = []
  const server = createServer((incoming, outgoing) => {
    void (async () => {
      const chunks: Buffer[] = []
      for await (const chunk of incoming) chunks.push(chunk as Buffer)
      const body = Buffer.concat(chunks)
      requests.push({
        method: incoming.method ?? '',
        path: incoming.url ?? '',
        headers: incoming.headers,
        body: `${body}`
      })
      const { authorization, 'content-type': contentType } = incoming.headers
      const answer = await fetch(`${target}${incoming.url ?? ''}`, {
        method: incoming.method,
        headers: { ...(authorization && { authorization }), ...(contentType && { 'content-type': contentType }) },
        body: body.length > 0 ? body : undefined
      })
      outgoing.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
      outgoing.end(Buffer.from(await answer.arrayBuffer()))
    })().catch(() => outgoing.destroy())
  })
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((closed) => server.close(() => closed()).closeAllConnections())
  }
}

let sandbox: MailchimpSandbox
let proxy: Awaited<ReturnType<typeof recordingProxy>>

beforeEach(async () => {
  sandbox = await startSandbox()
  proxy = await recordingProxy(sandbox.url)
})

afterEach(async () => {
  await proxy.close()
  await sandbox.close()
})

it("sends, for the bench's minimal plugin, byte for byte the requests syncCohort sends for the same batch", async () => {
  const endpoints = { metadataUrl: `${proxy.url}/oauth2/metadata`, apiBaseUrl: () => `${proxy.url}/3.0` }
  const definition = mailchimpCohorts({ endpoints })
  const arms = { syncCohort: definition, minimal: minimalDestination(definition, endpoints) }
  const sent: Record<string, Request[]> = {}
  for (const [arm, armDefinition] of Object.entries(arms)) {
    const audienceId = sandbox.addAudience({ name: `floor ${arm}` })
    const tagId = await connect(definition, TOKEN, audienceId)
    const batch = host(armDefinition, TOKEN, audienceId)
    // A first batch warms each plugin's own lookups (the data center; the audience's opt-in default for syncCohort).
    expectAllLanded(await batch.sync([engage('warm@mail.floor-shop.dev', true, tagId)]))
    const before = proxy.requests.length
    const events = Array.from({ length: 3 }, (_, n) => engage(`member${n}@mail.floor-shop.dev`, true, tagId))
    expectAllLanded(await batch.sync(events))
    sent[arm] = proxy.requests.slice(before).map((request) => ({
      ...request,
      path: request.path.split(audienceId).join(':audience').split(`/segments/${tagId}`).join('/segments/:tag')
    }))
  }

  expect(sent.syncCohort.map(({ method, path }) => `${method} ${path}`)).toEqual([
    'POST /3.0/lists/:audience?skip_merge_validation=true',
    'POST /3.0/lists/:audience/segments/:tag'
  ])
  expect(JSON.parse(sent.syncCohort[0].body)).toEqual({
    members: [0, 1, 2].map((n) => ({ email_address: `member${n}@mail.floor-shop.dev`, status: 'subscribed' })),
    update_existing: false
  })
  expect(sent.syncCohort[0].headers).toMatchObject({ authorization: `Bearer ${TOKEN}`, accept: 'application/json' })
  expect(sent.minimal).toEqual(sent.syncCohort)
})
