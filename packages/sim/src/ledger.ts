/**
 * What was written and not removed: per set, every writer's feed and the
 * length it reached, and the feeds the set's members dropped.
 * The truth the convergence check compares every peer with.
 */
export class Ledger {
  /** Per set: feed key (hex) → length appended. */
  readonly #sets: Array<Map<string, number>>
  readonly #removed: Array<Set<string>>
  /** Per set: the spammer's feeds (hex) → length appended (moderated runs; never in `feeds`). */
  readonly #spam: Array<Map<string, number>>
  blocks = 0

  constructor(sets: number) {
    this.#sets = Array.from({ length: sets }, () => new Map())
    this.#removed = Array.from({ length: sets }, () => new Set())
    this.#spam = Array.from({ length: sets }, () => new Map())
  }

  /** The spammer wrote `length` junk blocks to its new feed `key` (hex) of `set`. */
  spammed(set: number, key: string, length: number): void {
    this.#spam[set]!.set(key, length)
    this.blocks += length
  }

  /** The spammer's feeds of a set (hex → length), in the order written. */
  spam(set: number): ReadonlyMap<string, number> {
    return this.#spam[set]!
  }

  /** The members of `set` dropped the feed `key` (hex) for good. */
  removed(set: number, key: string): void {
    this.#sets[set]!.delete(key)
    this.#removed[set]!.add(key)
  }

  /** Feeds (hex) removed from a set. */
  removedFrom(set: number): ReadonlySet<string> {
    return this.#removed[set]!
  }

  /** A writer of `set` reached `length` (appends only grow). */
  wrote(set: number, key: string, length: number, appended: number): void {
    const feeds = this.#sets[set]!
    feeds.set(key, Math.max(feeds.get(key) ?? 0, length))
    this.blocks += appended
  }

  /** Number of sets. */
  get sets(): number {
    return this.#sets.length
  }

  /** Feed key (hex) → length, of one set. */
  feeds(set: number): ReadonlyMap<string, number> {
    return this.#sets[set]!
  }
}
