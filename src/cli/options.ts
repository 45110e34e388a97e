/**
 * Strict options: a value option given twice, a number that is not a plain decimal integer in range, or an option
 * that only means something with another one are usage errors, never silently read one way.
 */
import { InvalidArgumentError } from 'commander'
import type { Command } from 'commander'
import { UsageError } from './errors'

/**
 * A parser for a single-value option that refuses a second occurrence. `seen` belongs to one parse of the command
 * line; `parse` turns the text into the option's value.
 */
export function once<T>(seen: Set<string>, flag: string, parse: (value: string) => T): (value: string) => T {
  return (value) => {
    if (seen.has(flag)) throw new InvalidArgumentError(`${flag} is given twice: give it once.`)
    seen.add(flag)
    return parse(value)
  }
}

/** A decimal integer from `min` to `max`: not empty, no sign, no exponent, no hexadecimal, no fraction. */
export function decimalInteger(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^[0-9]{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`a whole number from ${min} to ${max}, written in decimal digits.`)
    }
    return Number(value)
  }
}

/** Options that mean something only beside `--mirror`. */
const MIRROR_ONLY = [
  ['maxUntag', '--max-untag'],
  ['force', '--force'],
  ['ignoreBadRows', '--ignore-bad-rows']
] as const

interface Combination {
  mirror?: boolean
  removeFile?: string
  membershipColumn?: string
  mergeField: Record<string, string>
  statusIfNew: string
}

/** Refuses combinations of options that cannot both hold. */
export function checkCombinations(options: Combination, command: Command): void {
  const given = (name: string) => command.getOptionValueSource(name) === 'cli'
  if (!options.mirror) {
    const stray = MIRROR_ONLY.filter(([name]) => given(name)).map(([, flag]) => flag)
    if (stray.length > 0) {
      throw new UsageError(
        `${stray.join(', ')} ${stray.length > 1 ? 'mean' : 'means'} something only with --mirror: add --mirror for a full resync, or leave ${stray.length > 1 ? 'them' : 'it'} out.`
      )
    }
  }
  if (options.membershipColumn !== undefined && options.removeFile !== undefined) {
    throw new UsageError(
      '--membership-column and --remove-file are two ways to name leavers: use one. With --membership-column, the leavers are the rows of --file marked false.'
    )
  }
  if (options.mirror && (options.removeFile !== undefined || options.membershipColumn !== undefined)) {
    throw new UsageError(
      '--mirror takes the whole cohort from --file and untags everyone else; it cannot be combined with --remove-file or --membership-column.'
    )
  }
  if (Object.keys(options.mergeField).length > 0 && options.statusIfNew === 'skip') {
    throw new UsageError(
      '--merge-field cannot be combined with --status-if-new skip: writing merge fields may create the contact, which skip forbids.'
    )
  }
}
