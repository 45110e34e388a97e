/**
 * A bench job in a Node process of its own (the CPU rounds, each memory run), so that nothing else the bench did
 * counts, on a cohort the bench connects for it in a fresh audience. The job (a token among it) travels in the
 * environment, since a command line is visible to every user of the machine; the child answers with JSON on stdout.
 */
import { execFile } from 'child_process'
import { promisify } from 'util'
import type { DestinationDefinition } from '@segment/actions-core'
import type { MailchimpEndpoints, Settings } from '../src'
import { connect } from './host'
import type { SandboxProcess } from './sandbox-process'

/** What a child needs to reach the sandbox and the cohort the bench connected for it. */
export interface CohortJob {
  metadataUrl: string
  apiBaseUrl: string
  token: string
  audienceId: string
  tagId: string
}

/**
 * Connects a cohort in a fresh audience and runs `work` with it while the sandbox answers lean or Mailchimp-sized
 * member objects; the sandbox answers lean again afterwards.
 */
export async function withCohort<T>(
  definition: DestinationDefinition<Settings>,
  sandbox: SandboxProcess,
  audienceName: string,
  answers: 'lean' | 'mailchimp',
  work: (cohort: CohortJob) => Promise<T>
): Promise<T> {
  const audienceId = await sandbox.addAudience(audienceName)
  const cohort: CohortJob = {
    metadataUrl: sandbox.endpoints.metadataUrl,
    apiBaseUrl: sandbox.endpoints.apiBaseUrl('us1'),
    token: sandbox.token,
    audienceId,
    tagId: await connect(definition, sandbox.token, audienceId)
  }
  await sandbox.setAnswers(answers)
  try {
    return await work(cohort)
  } finally {
    await sandbox.setAnswers('lean')
  }
}

/** The sandbox's endpoints, as the child builds its destination with them. */
export function endpointsOf(cohort: CohortJob): MailchimpEndpoints {
  return { metadataUrl: cohort.metadataUrl, apiBaseUrl: () => cohort.apiBaseUrl }
}

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
