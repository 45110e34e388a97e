/** Helpers for the command's tests: files in a scratch folder, in-process runs, and processes (command, sandbox). */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import { mkdtempSync, writeFileSync } from 'fs'
import { tmpdir } from 'os'
import { join } from 'path'
import { createInterface } from 'readline'
import { run } from '../src/cli/program'
import type { Io } from '../src/cli/program'
import { startSandbox } from '../src/sandbox'
import type { MailchimpSandbox } from '../src/sandbox'

export const ROOT = join(__dirname, '..')
const dir = mkdtempSync(join(tmpdir(), 'mailchimp-cohort-cli-'))

export function file(name: string, content: string | Buffer): string {
  const path = join(dir, name)
  writeFileSync(path, content)
  return path
}

export const scratch = (name: string) => join(dir, name)

/** A fresh sandbox with one audience, "Newsletter", for every test of the file; handed over as each test starts. */
export function withFreshSandbox(use: (sandbox: MailchimpSandbox, audienceId: string) => void): void {
  let sandbox: MailchimpSandbox | undefined
  beforeEach(async () => {
    sandbox = await startSandbox()
    use(sandbox, sandbox.addAudience({ name: 'Newsletter' }))
  })
  afterEach(async () => {
    await sandbox?.close()
  })
}

export interface CliResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs the command in this process; `sandbox` is what `--sandbox` (without a URL) then uses. */
export async function cli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; sandbox?: MailchimpSandbox } & Partial<Omit<Io, 'sandbox'>> = {}
): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  const { env = {}, sandbox, ...io } = options
  const code = await run(args, {
    env,
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    ...(sandbox ? { sandbox: { endpoints: sandbox.endpoints, url: sandbox.url, token: 'sandbox-token' } } : {}),
    retryDelayMs: 10,
    ...io
  })
  return { code, stdout, stderr }
}

/** The environment of this process without Mailchimp credentials. */
export function envWithoutCredentials(): NodeJS.ProcessEnv {
  const { MAILCHIMP_ACCESS_TOKEN: _token, MAILCHIMP_API_KEY: _key, ...env } = process.env
  return env
}

/** The command as a process, from source. */
export function spawnCommand(args: string[], env: NodeJS.ProcessEnv = envWithoutCredentials()): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'src/cli/mailchimp-cohort.ts', ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe']
  })
}

export interface Finished {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Collects a process's output; `finished` resolves when it exits. */
export function watch(child: ChildProcess): { output: () => Finished; finished: Promise<Finished> } {
  let stdout = ''
  let stderr = ''
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
  const output = () => ({ code: child.exitCode, signal: child.signalCode, stdout, stderr })
  const finished = new Promise<Finished>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  )
  return { output, finished }
}

/** `npm run sandbox` in a process of its own, driven through its admin API. */
export interface SandboxProcess {
  url: string
  audienceId: string
  admin: <T>(method: string, path: string, body?: unknown) => Promise<T>
  stop: () => Promise<void>
}

export async function startSandboxProcess(args: string[] = []): Promise<SandboxProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/sandbox/main.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit']
  })
  const line = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (first) => {
      lines.close()
      resolve(first)
    })
    child.once('exit', (code) => reject(new Error(`The sandbox ended before it was ready (exit ${code}).`)))
  })
  const ready = JSON.parse(line) as { url: string; audience_id: string }
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${ready.url}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (!response.ok) throw new Error(`Sandbox ${method} ${path}: ${response.status} ${await response.text()}`)
    return (response.status === 204 ? undefined : await response.json()) as T
  }
  return {
    url: ready.url,
    audienceId: ready.audience_id,
    admin,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
  }
}

/** Polls until `check` holds (or fails after `timeoutMs`). */
export async function until(check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('Timed out waiting for a condition.')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
