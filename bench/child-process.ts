/**
 * A bench job in a Node process of its own (the CPU rounds, each memory run), so that nothing else the bench did
 * counts. The job (a token among it) travels in the environment, since a command line is visible to every user of the
 * machine; the child answers with JSON on stdout.
 */
import { execFile } from 'child_process'
import { promisify } from 'util'

/** Runs `file` under tsx in a new process with `job` in the environment variable `variable`; resolves its answer. */
export async function inChildProcess<T>(
  file: string,
  variable: string,
  job: unknown,
  nodeOptions: string[] = []
): Promise<T> {
  const env = { ...process.env, [variable]: JSON.stringify(job) }
  const { stdout } = await promisify(execFile)(process.execPath, [...nodeOptions, '--import', 'tsx', file], {
    env,
    maxBuffer: 1 << 20
  })
  return JSON.parse(stdout) as T
}

/** In the child, when `module` is the file run: reads the job from `variable`, does it and writes the answer. */
export function answerAsChild<J, T>(module: NodeModule, variable: string, work: (job: J) => Promise<T>): void {
  if (require.main !== module) return
  work(JSON.parse(process.env[variable] ?? '{}') as J).then(
    (result) => process.stdout.write(JSON.stringify(result)),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    }
  )
}
