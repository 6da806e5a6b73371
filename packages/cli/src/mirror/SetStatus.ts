import type { Multifeed } from '@multifeed/core'
import { type SetSnapshot, snapshot } from './SetState.js'

/** The events after which a set may stand elsewhere. */
const EVENTS = ['feed', 'append', 'progress', 'reconciled', 'peer-add', 'peer-remove'] as const

/** At most one recomputation per set this often while it keeps changing (a sync: an event a block). */
export const SETTLE_MS = 100

/**
 * Where one mirrored set stands, computed only when asked after it changed.
 * A snapshot walks the set's feeds (O(feeds)), so it is neither computed per
 * event (a sync fires one per block) nor per status-line redraw (1,000 sets of
 * 100 feeds each were 100,000 feed records a redraw, five redraws a second):
 * `current()` returns the last snapshot until an event makes it stale, and
 * `onChange` hears of a change once per `SETTLE_MS` at most, after the last
 * event of a burst too, so a final state (in sync) is never left unsaid.
 */
export class SetStatus {
  readonly key: string
  readonly #multi: Multifeed
  readonly #onChange: (set: SetSnapshot) => void
  #snapshot: SetSnapshot | null = null
  #timer: NodeJS.Timeout | null = null
  #disposed = false
  /** Recomputations so far (what the tests count). */
  computed = 0

  constructor(key: string, multi: Multifeed, onChange: (set: SetSnapshot) => void) {
    this.key = key
    this.#multi = multi
    this.#onChange = onChange
    for (const event of EVENTS) multi.on(event, this.#changed)
  }

  /** The set's snapshot, recomputed only if an event came since the last one. */
  current(): SetSnapshot {
    if (this.#snapshot === null) {
      this.#snapshot = snapshot(this.key, this.#multi)
      this.computed++
    }
    return this.#snapshot
  }

  /** Stops listening; no change is reported after this. */
  dispose(): void {
    this.#disposed = true
    for (const event of EVENTS) this.#multi.off(event, this.#changed)
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  readonly #changed = (): void => {
    this.#snapshot = null
    if (this.#timer !== null || this.#disposed) return
    this.#timer = setTimeout(() => {
      this.#timer = null
      if (!this.#disposed && !this.#multi.closing) this.#onChange(this.current())
    }, SETTLE_MS)
  }
}
