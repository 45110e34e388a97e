/**
 * `npm run bench:profile`: the CPU arms alone, a few rounds each with lean and Mailchimp-sized answers, for reading
 * under `node --cpu-prof` before optimising (profiles in bench/profiles/). Prints the per-1,000-event medians.
 */
import { cpuRounds, ARMS } from './cpu'
import { destinationFor } from './host'
import { startSandboxProcess } from './sandbox-process'
import { summarize } from './stats'

async function main() {
  const rounds = Number(process.argv[2] ?? 5)
  const sandbox = await startSandboxProcess()
  try {
    const definition = destinationFor(sandbox.endpoints)
    for (const answers of ['lean', 'mailchimp'] as const) {
      // In this process, which the profiler watches; the bench runs them in a process of their own.
      const results = await cpuRounds(definition, sandbox, rounds, answers, { inProcess: true })
      const medians = ARMS.map((arm) => `${arm} ${summarize(results.map((r) => r[arm])).median.toFixed(1)} ms`)
      const ratio = summarize(results.map((r) => r.syncCohort / r.minimal))
      process.stdout.write(
        `${answers}: ${medians.join(', ')}; syncCohort ÷ minimal ${ratio.median.toFixed(3)} (${ratio.min.toFixed(2)}–${ratio.max.toFixed(2)})\n`
      )
    }
  } finally {
    await sandbox.stop()
  }
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
