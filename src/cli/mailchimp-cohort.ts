#!/usr/bin/env node
import { EXIT } from './errors'
import { run } from './program'

run(process.argv.slice(2), {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  interactive: process.stderr.isTTY
}).then(
  (code) => {
    process.exitCode = code
  },
  (error: unknown) => {
    process.stderr.write(
      `mailchimp-cohort: unexpected failure: ${error instanceof Error ? error.stack : String(error)}\n`
    )
    process.exitCode = EXIT.internal
  }
)
