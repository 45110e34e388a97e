/**
 * Writes `generated-types.ts` beside the destination and each action from their fields, as Segment's CLI does.
 * `--check` writes nothing and exits 1 when a file is stale.
 */
import { fieldsToJsonSchema } from '@segment/actions-core'
import type { GlobalSetting, InputField } from '@segment/actions-core'
import { readFileSync, writeFileSync, existsSync } from 'fs'
import { compile } from 'json-schema-to-typescript'
import type { JSONSchema4 } from 'json-schema'
import { join, relative } from 'path'
import { format, resolveConfig } from 'prettier'
import destination from '../src/destinations/mailchimp-cohort'

const root = join(__dirname, '..')
const destinationDir = join(root, 'src/destinations/mailchimp-cohort')
const BANNER = '// Generated file. DO NOT MODIFY IT BY HAND.'

/** Titles would become named aliases; without them each field is typed inline with its description. */
function inline(schema: JSONSchema4): JSONSchema4 {
  const { title: _title, ...rest } = schema
  if (rest.type === 'object' && rest.properties) {
    rest.properties = Object.fromEntries(Object.entries(rest.properties).map(([key, value]) => [key, inline(value)]))
  } else if (rest.type === 'array' && rest.items && !Array.isArray(rest.items)) {
    rest.items = inline(rest.items)
  }
  return rest
}

async function typesFor(fields: Record<string, InputField | GlobalSetting>, name: string): Promise<string> {
  const schema = inline(fieldsToJsonSchema(fields, { tsType: true }) as JSONSchema4)
  return compile(schema, name, { bannerComment: '', format: false })
}

async function render(parts: string[], file: string): Promise<string> {
  const options = (await resolveConfig(file)) ?? {}
  return format([BANNER, '', ...parts].join('\n'), { ...options, parser: 'typescript' })
}

async function main(): Promise<void> {
  const check = process.argv.includes('--check')
  const files: Array<[string, string[]]> = [
    [
      join(destinationDir, 'generated-types.ts'),
      [
        await typesFor(destination.authentication?.fields ?? {}, 'Settings'),
        await typesFor(destination.audienceFields, 'AudienceSettings')
      ]
    ]
  ]
  for (const [slug, action] of Object.entries(destination.actions)) {
    files.push([join(destinationDir, slug, 'generated-types.ts'), [await typesFor(action.fields, 'Payload')]])
  }

  const stale: string[] = []
  for (const [file, parts] of files) {
    const expected = await render(parts, file)
    const current = existsSync(file) ? readFileSync(file, 'utf8') : ''
    if (current === expected) continue
    stale.push(relative(root, file))
    if (!check) writeFileSync(file, expected)
  }

  if (check && stale.length > 0) {
    console.error(`Generated types are stale: ${stale.join(', ')}. Run \`npm run types\` and commit the result.`)
    process.exit(1)
  }
  console.log(stale.length > 0 ? `Wrote ${stale.join(', ')}` : 'Generated types are up to date.')
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
