/**
 * What was written: per set, every writer's feed and the length it reached.
 * The truth the convergence check compares every peer with.
 */
export class Ledger {
  /** Per set: feed key (hex) → length appended. */
  readonly #sets: Array<Map<string, number>>
  blocks = 0

  constructor(sets: number) {
    this.#sets = Array.from({ length: sets }, () => new Map())
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

  /** Whether `key` (hex) is a feed of some other set than `set`. */
  setOf(key: string): number | null {
    for (let s = 0; s < this.#sets.length; s++) if (this.#sets[s]!.has(key)) return s
    return null
  }
}
