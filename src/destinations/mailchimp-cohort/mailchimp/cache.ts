import { createHash } from 'crypto'
import type { StateContext } from '@segment/actions-core'

/**
 * Lookups worth keeping between batches: a token's data center, an audience's double opt-in setting, a tag's id.
 * The host's `stateContext` carries them across workers when it is given; a bounded in-process map always does.
 * Keys never hold a token in clear, only a short hash of it.
 */
export interface LookupCache {
  get(key: string): string | undefined
  set(key: string, value: string, ttlSeconds: number): void
}

const MAX_ENTRIES = 10_000

class MemoryCache implements LookupCache {
  private readonly entries = new Map<string, { value: string; expiresAt: number }>()

  get(key: string): string | undefined {
    const entry = this.entries.get(key)
    if (!entry) return undefined
    if (entry.expiresAt <= Date.now()) {
      this.entries.delete(key)
      return undefined
    }
    return entry.value
  }

  set(key: string, value: string, ttlSeconds: number): void {
    this.entries.delete(key)
    if (this.entries.size >= MAX_ENTRIES) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    this.entries.set(key, { value, expiresAt: Date.now() + ttlSeconds * 1000 })
  }

  clear(): void {
    this.entries.clear()
  }
}

/** Shared by every request in this process. */
export const memoryCache = new MemoryCache()

/** Memory first, then what the host handed in for this request; writes go to both. */
export function lookupCache(stateContext?: StateContext): LookupCache {
  // Some hosts (and actions-core's test harness) hand in an empty object.
  if (typeof stateContext?.getRequestContext !== 'function' || typeof stateContext.setResponseContext !== 'function') {
    return memoryCache
  }
  return {
    get(key) {
      const local = memoryCache.get(key)
      if (local !== undefined) return local
      const remote: unknown = stateContext.getRequestContext(key)
      return typeof remote === 'string' && remote !== '' ? remote : undefined
    },
    set(key, value, ttlSeconds) {
      memoryCache.set(key, value, ttlSeconds)
      stateContext.setResponseContext(key, value, { second: ttlSeconds })
    }
  }
}

/** A short, one-way fingerprint for cache keys: tokens and operators' names never appear in a key. */
export function fingerprint(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 16)
}

const inFlight = new Map<string, Promise<unknown>>()

/** Runs `work` once per key at a time: concurrent callers share the answer instead of asking Mailchimp twice. */
function singleFlight<T>(key: string, work: () => Promise<T>): Promise<T> {
  const running = inFlight.get(key)
  if (running) return running as Promise<T>
  const started = work().finally(() => inFlight.delete(key))
  inFlight.set(key, started)
  return started
}

interface RememberOptions {
  ttlSeconds: number
  /** Whether a cached value is usable; anything else counts as a miss. */
  accept: (value: string | undefined) => boolean
  /** Ask Mailchimp even when a value is cached. */
  fresh?: boolean
  /** The single-flight key, when lookups that answer differently share `key`. */
  flightKey?: string
}

/**
 * The value cached under `key` when it is acceptable; otherwise `work` runs once per key at a time in this process,
 * and every caller that shared it stores the answer, so each host context keeps it too. `undefined` is not stored.
 */
export async function remember<R extends string | undefined>(
  cache: LookupCache,
  key: string,
  { ttlSeconds, accept, fresh = false, flightKey = key }: RememberOptions,
  work: () => Promise<R>
): Promise<R> {
  if (!fresh) {
    const cached = cache.get(key)
    if (accept(cached)) return cached as R
  }
  const value = await singleFlight(flightKey, work)
  if (value !== undefined) cache.set(key, value, ttlSeconds)
  return value
}
