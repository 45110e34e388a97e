// Runs a sandbox with one audience until SIGINT/SIGTERM, e.g. `npx tsx src/sandbox/main.ts --latency 50`.
import { parseArgs } from 'node:util'
import { SANDBOX_AUDIENCE_ID, SANDBOX_TOKEN, startSandbox } from './server'

const number = (value: string | undefined, fallback: number, name: string): number => {
  const parsed = Number(value ?? fallback)
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name} must be a non-negative number`)
  return parsed
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string' },
      latency: { type: 'string' },
      'max-connections': { type: 'string' },
      answers: { type: 'string', default: 'lean' },
      audience: { type: 'string', default: SANDBOX_AUDIENCE_ID }
    }
  })
  const sandbox = await startSandbox({
    port: number(values.port, 0, 'port'),
    latencyMs: number(values.latency, 0, 'latency'),
    maxConnections: number(values['max-connections'], 10, 'max-connections'),
    answers: values.answers === 'mailchimp' ? 'mailchimp' : 'lean'
  })
  const audienceId = sandbox.addAudience({ id: values.audience, name: 'Sandbox audience' })
  const { metadataUrl, apiBaseUrl } = sandbox.endpoints
  const ready = { url: sandbox.url, metadataUrl, apiBaseUrl: apiBaseUrl('us1'), audience_id: audienceId }
  console.log(JSON.stringify({ ...ready, token: SANDBOX_TOKEN }))
  const stop = () => void sandbox.close().then(() => process.exit(0))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error)
  process.exit(1)
})
