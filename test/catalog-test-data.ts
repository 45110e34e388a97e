import type { DestinationDefinition, GlobalSetting, InputField } from '@segment/actions-core'

/**
 * Test data in the manner of the Segment catalog's snapshot tests, written here so that the tests need no copy of
 * the catalog (whose package wants other Node versions than ours). For one action it makes the settings and the
 * mapped fields a catalog snapshot test feeds it:
 *
 * - every authentication field of the destination gets a value of its type;
 * - with `requiredOnly`, only the fields that are required or whose key mentions an id or consent get one, and an
 *   object field's properties only when required; otherwise every field and property does;
 * - a field with choices gets one of them, a boolean a coin flip, an integer or number any value of its type (bounds
 *   are not respected: the action has to refuse what it cannot take), a string a value in its format, and a string
 *   without one random characters, symbols included; a field named `email` always gets an address, a `multiple`
 *   field a list of one, and an object with no declared properties a single key of random text.
 *
 * Values come from a generator seeded with the seed's text, so they are the same on every run and snapshots stay put.
 */
export function catalogTestData(
  seed: string,
  destination: Pick<DestinationDefinition<never>, 'authentication'>,
  action: { fields: Record<string, InputField> },
  requiredOnly: boolean
): [Record<string, unknown>, Record<string, unknown>] {
  const settings: Record<string, unknown> = {}
  const authFields: Record<string, GlobalSetting> = destination.authentication?.fields ?? {}
  for (const [key, field] of Object.entries(authFields)) {
    settings[key] = valueFor(random(`${seed}/settings/${key}`), key, field)
  }

  const data: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(action.fields)) {
    if (requiredOnly && !(field.required === true || key.includes('id') || key.includes('consent'))) continue
    const draw = random(`${seed}/fields/${key}`)
    let value: unknown
    if (key === 'consent') {
      value = { categoryPreferences: { analytics: true, marketing: false } }
    } else if (field.properties) {
      const properties = Object.entries(field.properties).filter(([, p]) => !requiredOnly || p.required === true)
      value = Object.fromEntries(properties.map(([name, p]) => [name, wrap(p, valueFor(draw, name, p))]))
    } else {
      value = valueFor(draw, key, field)
    }
    data[key] = wrap(field, value)
  }
  return [data, settings]
}

type FieldShape = Pick<InputField, 'type' | 'format' | 'choices' | 'multiple'>

const wrap = (field: FieldShape, value: unknown) => (field.multiple ? [value] : value)

/** One value for a field, from its choices, its name, its type and its format, in that order. */
function valueFor(draw: Random, key: string, field: Partial<FieldShape>): unknown {
  if (Array.isArray(field.choices) && field.choices.length > 0) {
    const choice = field.choices[draw.below(field.choices.length)]
    return typeof choice === 'object' && choice !== null && 'value' in choice ? choice.value : choice
  }
  if (key === 'email') return email(draw)
  switch (field.type) {
    case 'boolean':
      return draw.below(2) === 1
    case 'integer':
      return draw.below(2 ** 31) * (draw.below(2) === 1 ? -1 : 1)
    case 'number':
      return Math.round((draw.next() - 0.5) * 2_000_000) / 100
    case 'datetime':
      return '2021-02-01T00:00:00.000Z'
    case 'text':
      return `${word(draw, 3 + draw.below(5))} ${word(draw, 2 + draw.below(6))} ${word(draw, 2 + draw.below(6))}.`
    case 'object':
      return { testType: symbols(draw) }
  }
  switch (field.format) {
    case 'email':
      return email(draw)
    case 'uri':
      return `https://${word(draw, 6)}.com/${word(draw, 4)}`
    case 'hostname':
      return `${word(draw, 7)}.net`
    case 'date':
      return `20${10 + draw.below(20)}-0${1 + draw.below(9)}-${10 + draw.below(18)}`
    case 'date-time':
      return new Date(Date.UTC(2010 + draw.below(20), draw.below(12), 1 + draw.below(28))).toISOString()
    case 'uuid':
      return [8, 4, 4, 4, 12]
        .map((n) => Array.from({ length: n }, () => draw.below(16).toString(16)).join(''))
        .join('-')
    case 'ipv4':
      return Array.from({ length: 4 }, () => draw.below(256)).join('.')
    default:
      return symbols(draw)
  }
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz'
const PRINTABLE = `${LETTERS}${LETTERS.toUpperCase()}0123456789!@#$%^&*()[]`

const word = (draw: Random, length: number) => Array.from({ length }, () => LETTERS[draw.below(26)]).join('')
const symbols = (draw: Random) =>
  Array.from({ length: 5 + draw.below(16) }, () => PRINTABLE[draw.below(PRINTABLE.length)]).join('')
const email = (draw: Random) => `${word(draw, 4 + draw.below(5))}@${word(draw, 5 + draw.below(4))}.dev`

interface Random {
  /** In [0, 1). */
  next(): number
  /** An integer in [0, n). */
  below(n: number): number
}

/** A small seeded generator (FNV-1a to seed, then xorshift32): deterministic, not for anything but test data. */
function random(seed: string): Random {
  let state = 0x811c9dc5
  for (const char of seed) state = Math.imul(state ^ char.codePointAt(0)!, 0x01000193) >>> 0
  if (state === 0) state = 1
  const next = () => {
    state ^= state << 13
    state >>>= 0
    state ^= state >>> 17
    state ^= state << 5
    state >>>= 0
    return state / 2 ** 32
  }
  return { next, below: (n) => Math.floor(next() * n) }
}
