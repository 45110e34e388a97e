/**
 * Which row decides each address, for files too large to hold: an open-addressing hash table in one typed array.
 * A slot is three 32-bit words: the two halves of a 64-bit hash of the folded address, and the row that decides it
 * (its ordinal + 1, 0 for an empty slot) with the row's membership in the top bit. The table doubles at 3/4 full,
 * so it holds 1 address in 1⅓ to 2⅔ slots: 16–32 bytes an address, 24 MiB for 1,000,000 (2^21 slots).
 *
 * Two addresses whose 64-bit hashes are equal would be taken for one (the earlier row folded into the later one). For
 * n addresses that happens with probability about n² / 2^65: 3 in 100 million for 1,000,000 addresses, 7 in 10
 * million for 5,000,000.
 */

const WORDS_PER_SLOT = 3
export const BYTES_PER_SLOT = WORDS_PER_SLOT * Uint32Array.BYTES_PER_ELEMENT
const INITIAL_SLOTS = 1 << 16
const MEMBER_BIT = 0x80000000
/** Ordinals are stored + 1 under the membership bit. */
export const MAX_ROWS = 0x7ffffffe

/** The row that decides an address, as stored: 0 when the index has not seen the address. */
export type Entry = number

export const ordinalOf = (entry: Entry): number => (entry & ~MEMBER_BIT) - 1
export const membershipOf = (entry: Entry): boolean => (entry & MEMBER_BIT) !== 0

// The hash's two halves, set by hash64: no array per call on the hot path.
let high = 0
let low = 0

/** A 64-bit hash of a string's UTF-16 code units (two multiplicative lanes, cross-mixed at the end). */
function hash64(text: string): void {
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ unit, 2654435761)
    h2 = Math.imul(h2 ^ unit, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507)
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507)
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  high = h1 >>> 0
  low = h2 >>> 0
}

export class AddressIndex {
  private slots: Uint32Array
  private mask: number
  /** Distinct addresses held. */
  size = 0

  constructor(initialSlots = INITIAL_SLOTS) {
    const capacity = 2 ** Math.ceil(Math.log2(Math.max(2, initialSlots)))
    this.slots = new Uint32Array(capacity * WORDS_PER_SLOT)
    this.mask = capacity - 1
  }

  /** The table's memory, in bytes. */
  get bytes(): number {
    return this.slots.byteLength
  }

  /** The row that decides `key` (a folded address), or 0. */
  get(key: string): Entry {
    hash64(key)
    return this.slots[this.find(high, low) + 2]
  }

  /** Makes row `ordinal` the one that decides `key`, and returns the entry it replaces (0 for a new address). */
  set(key: string, ordinal: number, inCohort: boolean): Entry {
    if (ordinal > MAX_ROWS - 1) throw new RangeError(`The index holds at most ${MAX_ROWS} rows.`)
    hash64(key)
    const at = this.find(high, low)
    const previous = this.slots[at + 2]
    this.slots[at] = high
    this.slots[at + 1] = low
    this.slots[at + 2] = ((ordinal + 1) | (inCohort ? MEMBER_BIT : 0)) >>> 0
    if (previous === 0 && ++this.size > (this.mask + 1) * 0.75) this.grow()
    return previous
  }

  /** Every entry, in no particular order. */
  *entries(): Generator<Entry> {
    for (let at = 2; at < this.slots.length; at += WORDS_PER_SLOT) if (this.slots[at] !== 0) yield this.slots[at]
  }

  /** The word offset of the slot holding this hash, or of the empty slot where it belongs (linear probing). */
  private find(h: number, l: number): number {
    const { slots, mask } = this
    for (let slot = l & mask; ; slot = (slot + 1) & mask) {
      const at = slot * WORDS_PER_SLOT
      if (slots[at + 2] === 0 || (slots[at] === h && slots[at + 1] === l)) return at
    }
  }

  private grow(): void {
    const old = this.slots
    this.slots = new Uint32Array(old.length * 2)
    this.mask = this.mask * 2 + 1
    for (let from = 0; from < old.length; from += WORDS_PER_SLOT) {
      if (old[from + 2] === 0) continue
      const at = this.find(old[from], old[from + 1])
      this.slots[at] = old[from]
      this.slots[at + 1] = old[from + 1]
      this.slots[at + 2] = old[from + 2]
    }
  }
}
