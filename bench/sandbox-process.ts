/**
 * The sandbox in a process of its own, so that its work never counts as the host's: started from the project's
 * `src/sandbox/main.ts` and driven through its admin API over loopback.
 */
import { spawn } from 'child_process'
import type { ChildProcess } from 'child_process'
import { join } from 'path'
import { createInterface } from 'readline'
import type { SandboxCounters } from '../src/sandbox'

export interface SandboxProcess {
  readonly endpoints: { metadataUrl: string; apiBaseUrl: (dc: string) => string }
  readonly token: string
  /** A fresh audience, so runs never see each other's contacts. */
  addAudience(name: string): Promise<string>
  /** Addresses carrying the tag (an id or a name). */
  tagMembers(audienceId: string, tag: string): Promise<string[]>
  counters(): Promise<SandboxCounters>
  resetCounters(): Promise<void>
  setLatency(ms: number): Promise<void>
  /** 'mailchimp': member objects answered whole (about 2.7 KB each), as Mailchimp does. */
  setAnswers(size: 'lean' | 'mailchimp'): Promise<void>
  stop(): Promise<void>
}

interface Ready {
  url: string
  metadataUrl: string
  apiBaseUrl: string
  token: string
}

const MAIN = join(__dirname, '..', 'src', 'sandbox', 'main.ts')

/** Latency starts at 0; `setLatency` changes it for the runs that want it. */
export async function startSandboxProcess(options: { maxConnections?: number } = {}) {
  const args = ['--import', 'tsx', MAIN]
  if (options.maxConnections !== undefined) args.push('--max-connections', String(options.maxConnections))
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const ready = await firstLine(child)
  return sandboxClient(child, JSON.parse(ready) as Ready)
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => {
      lines.close()
      resolve(line)
    })
    child.once('exit', (code) => reject(new Error(`The sandbox process ended before it was ready (exit ${code}).`)))
  })
}

function sandboxClient(child: ChildProcess, ready: Ready): SandboxProcess {
  const admin = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${ready.url}/_sandbox${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
    if (!response.ok) throw new Error(`Sandbox ${method} ${path} answered ${response.status}: ${await response.text()}`)
    return (response.status === 204 ? undefined : await response.json()) as T
  }
  return {
    endpoints: { metadataUrl: ready.metadataUrl, apiBaseUrl: () => ready.apiBaseUrl },
    token: ready.token,
    addAudience: async (name) => (await admin<{ id: string }>('POST', '/audiences', { name })).id,
    tagMembers: async (audienceId, tag) =>
      (await admin<{ emails: string[] }>('GET', `/audiences/${audienceId}/tags/${encodeURIComponent(tag)}/members`))
        .emails,
    counters: () => admin('GET', '/counters'),
    resetCounters: () => admin('POST', '/reset-counters'),
    setLatency: (ms) => admin('POST', '/latency', { ms }),
    setAnswers: (size) => admin('POST', '/answers', { size }),
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
  }
}
