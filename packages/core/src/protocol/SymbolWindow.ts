/**
 * The first W coded symbols of a set, kept up to date as elements come and
 * go, so that a reconciliation costs O(d), not O(n).
 *
 * Coded symbols are linear: adding or removing an element XORs it (and its
 * hash) into the symbols its index sequence hits, and moves their counts by
 * one. Below W an element is in ≈ 1 + 2·ln(1 + W/2) symbols (15 for W =
 * 2048), so a change costs one hash and ~15 XORs of 40 bytes.
 *
 * A reconciliation works on the set as it was when it began (`pin`): the
 * window logs each later change for every pinned snapshot, and a snapshot
 * undoes them on the rows it reads. Beyond W, or without a window (a share
 * policy shows a peer a subset), the full encoding over every element takes
 * over (`LocalSet.elements`).
 */
import {
  type CodedSymbol,
  checkArgs,
  hash64,
  type LocalRows,
  Members,
  symbolAt,
  Table
} from './ribltRows.js'

/**
 * Symbols a window keeps: twice the largest first batch (1024), so that the
 * request for more after any first batch is served from it too.
 * 56 bytes each for 40-byte elements (sum, hash, count): 112 KiB per set.
 */
export const WINDOW_SYMBOLS = 2048

/** Our side of one reconciliation: the set as it was when it began. */
export interface LocalSet {
  /** Symbols [0, window.size) come from here (null: none kept, encode every element). */
  readonly window: WindowSnapshot | null
  /** Every element of the set (read only for symbols beyond the window, or without one). */
  elements(): Iterable<Buffer>
  /** The reconciliation is over: stop logging changes for it. */
  release(): void
}

/** A LocalSet without a window: the elements, taken now. */
export function listedSet(elements: Iterable<Buffer>): LocalSet {
  const list = [...elements]
  return { window: null, elements: () => list, release: () => {} }
}

export class SymbolWindow {
  readonly #table: Table
  readonly #salt: Buffer
  /** One element at a time, for add / remove. */
  readonly #one: Members
  readonly #pins = new Set<WeakRef<WindowSnapshot>>()

  /** The window of the set `elements` (each exactly `width` bytes) under `salt`. */
  constructor(width: number, salt: Buffer, elements: Iterable<Buffer>, size = WINDOW_SYMBOLS) {
    checkArgs(width, salt)
    this.#salt = Buffer.from(salt)
    this.#table = new Table(width)
    this.#table.grow(size)
    this.#one = new Members(width)
    // Elements in chunks: Members.apply is fastest over many at once.
    const chunk = new Members(width)
    for (const element of elements) {
      const h = hash64(element, this.#salt)
      chunk.push(element, h.hi, h.lo, 1)
      if (chunk.length === 4096) this.#flush(chunk)
    }
    this.#flush(chunk)
  }

  get size(): number {
    return this.#table.length
  }

  get salt(): Buffer {
    return this.#salt
  }

  add(element: Buffer): void {
    this.#change(element, 1)
  }

  remove(element: Buffer): void {
    this.#change(element, -1)
  }

  /**
   * The set as it is now, for one reconciliation; `current` lists the set's
   * elements at the time it is called (the snapshot corrects them for changes
   * since).
   */
  pin(current: () => Iterable<Buffer>): WindowSnapshot {
    const snapshot = new WindowSnapshot(this.#table, this.#salt, current, (s) => {
      for (const ref of this.#pins) if (ref.deref() === s) this.#pins.delete(ref)
    })
    this.#pins.add(new WeakRef(snapshot))
    return snapshot
  }

  /** Snapshots pinned and not released (each logs the set's changes). */
  get pinned(): number {
    let n = 0
    for (const ref of this.#pins) if (ref.deref() !== undefined) n++
    return n
  }

  /** Symbols [from, to) of the set as it is now (to ≤ size). */
  symbols(from: number, to: number): CodedSymbol[] {
    return Array.from({ length: to - from }, (_, j) => symbolAt(this.#table, from + j))
  }

  #change(element: Buffer, delta: number): void {
    for (const ref of this.#pins) {
      const snapshot = ref.deref()
      if (snapshot === undefined) this.#pins.delete(ref)
      else snapshot.changed(element, delta)
    }
    const h = hash64(element, this.#salt)
    this.#one.push(element, h.hi, h.lo, delta)
    this.#flush(this.#one)
  }

  #flush(members: Members): void {
    members.apply(this.#table, 0, this.#table.length)
    members.clear()
    // Purity candidates are the decoder's business: do not let them pile up here.
    this.#table.candidates.length = 0
  }
}

/** The window as it was when pinned: the live rows, less the changes logged since. */
export class WindowSnapshot implements LocalSet, LocalRows {
  /** Changes since the pin, in order, with the sign they had. */
  readonly #log: Array<{ element: Buffer; delta: number }> = []
  readonly #live: Table
  readonly #current: () => Iterable<Buffer>
  readonly #unpin: (s: WindowSnapshot) => void
  #released = false

  constructor(
    live: Table,
    readonly salt: Buffer,
    current: () => Iterable<Buffer>,
    unpin: (s: WindowSnapshot) => void
  ) {
    this.#live = live
    this.#current = current
    this.#unpin = unpin
  }

  get window(): WindowSnapshot {
    return this
  }

  get size(): number {
    return this.#live.length
  }

  /** Called by the window on each change after the pin. */
  changed(element: Buffer, delta: number): void {
    if (!this.#released) this.#log.push({ element, delta })
  }

  rows(from: number, to: number): Table {
    const live = this.#live
    const w = live.width
    const t = new Table(w)
    t.base = from
    t.grow(to - from)
    t.bytes.set(live.bytes.subarray(from * w, to * w))
    t.hi.set(live.hi.subarray(from, to))
    t.lo.set(live.lo.subarray(from, to))
    t.num.set(live.num.subarray(from, to))
    if (this.#log.length > 0) {
      const undo = new Members(w)
      for (const { element, delta } of this.#log) {
        const h = hash64(element, this.salt)
        undo.push(element, h.hi, h.lo, -delta)
      }
      undo.apply(t, from, to)
    }
    return t
  }

  /** Symbols [from, to) as pinned (to ≤ size). */
  symbols(from: number, to: number): CodedSymbol[] {
    const t = this.rows(from, to)
    return Array.from({ length: to - from }, (_, j) => symbolAt(t, j))
  }

  *elements(): Iterable<Buffer> {
    if (this.#log.length === 0) {
      yield* this.#current()
      return
    }
    // Net change of each element since the pin: + joined since, − left since.
    const net = new Map<string, { element: Buffer; delta: number }>()
    for (const { element, delta } of this.#log) {
      const id = element.toString('latin1')
      const entry = net.get(id) ?? { element, delta: 0 }
      entry.delta += delta
      net.set(id, entry)
    }
    for (const element of this.#current()) {
      if ((net.get(element.toString('latin1'))?.delta ?? 0) <= 0) yield element
    }
    for (const { element, delta } of net.values()) if (delta < 0) yield element
  }

  release(): void {
    if (this.#released) return
    this.#released = true
    this.#log.length = 0
    this.#unpin(this)
  }
}
