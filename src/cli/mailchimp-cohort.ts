#!/usr/bin/env node
import { EXIT } from './errors'
import { Interrupt, listenForSignals } from './interrupt'
import { run } from './program'

const interrupt = new Interrupt()
listenForSignals(interrupt, EXIT.interrupted)

run(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  terminal: process.stderr.isTTY ? process.stderr : undefined,
  interrupt
}).then(
  (code) => {
    process.exitCode = code
    // Batches still in flight after the grace period must not keep an interrupted run alive.
    if (code === EXIT.interrupted) process.exit(code)
  },
  (error: unknown) => {
    process.stderr.write(
      `mailchimp-cohort: unexpected failure: ${error instanceof Error ? error.stack : String(error)}\n`
    )
    process.exitCode = EXIT.internal
  }
)
