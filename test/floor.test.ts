import http from 'http'
import type { ClientRequest } from 'http'
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

/** Every HTTP request the process sends while `work` runs: method, path with query, headers and body as written. */
async function requestsDuring(work: () => Promise<void>): Promise<Request[]> {
  const requests: Request[] = []
  const send = http.request
  const spy = jest.spyOn(http, 'request').mockImplementation((...args: unknown[]) => {
    const request = (send as (...given: unknown[]) => ClientRequest)(...args)
    const seen: Request = { method: request.method, path: request.path, headers: request.getHeaders(), body: '' }
    requests.push(seen)
    const write = request.write.bind(request) as (chunk: unknown, ...rest: unknown[]) => boolean
    const end = request.end.bind(request) as (chunk?: unknown, ...rest: unknown[]) => ClientRequest
    const record = (chunk: unknown) => {
      if (typeof chunk === 'string' || Buffer.isBuffer(chunk)) seen.body += chunk.toString()
    }
    return Object.assign(request, {
      write: (chunk: unknown, ...rest: unknown[]) => (record(chunk), write(chunk, ...rest)),
      end: (chunk?: unknown, ...rest: unknown[]) => (record(chunk), end(chunk, ...rest))
    })
  })
  try {
    await work()
  } finally {
    spy.mockRestore()
  }
  return requests
}

let sandbox: MailchimpSandbox

beforeEach(async () => {
  sandbox = await startSandbox()
})

afterEach(async () => {
  await sandbox.close()
})

it("sends, for the bench's minimal plugin, byte for byte the requests syncCohort sends for the same batch", async () => {
  const definition = mailchimpCohorts({ endpoints: sandbox.endpoints })
  const arms = { syncCohort: definition, minimal: minimalDestination(definition, sandbox.endpoints) }
  const sent: Record<string, Request[]> = {}
  for (const [arm, armDefinition] of Object.entries(arms)) {
    const audienceId = sandbox.addAudience({ name: `floor ${arm}` })
    const tagId = await connect(definition, TOKEN, audienceId)
    const batch = host(armDefinition, TOKEN, audienceId)
    // A first batch warms each plugin's own lookups (the data center; the audience's opt-in default for syncCohort).
    expectAllLanded(await batch.sync([engage('warm@mail.floor-shop.dev', true, tagId)]))
    const events = Array.from({ length: 3 }, (_, n) => engage(`member${n}@mail.floor-shop.dev`, true, tagId))
    const requests = await requestsDuring(async () => expectAllLanded(await batch.sync(events)))
    sent[arm] = requests.map((request) => ({
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
  expect(sent.minimal).toEqual(sent.syncCohort)
})
