import {
  type CodedSymbol,
  checkArgs,
  hash64,
  type LocalRows,
  Members,
  must,
  Table
} from './ribltRows.js'

export interface RibltDecoderOptions {
  /** Most elements (both sides together) the decoder recovers before it gives up. Default 100 000. */
  maxDifferences?: number
  /** Most coded symbols it accepts before it gives up. Default 3·maxDifferences + 1024. */
  maxSymbols?: number
  /**
   * Our own symbols [0, window.size), kept up to date elsewhere: they are
   * subtracted batch by batch, and `addLocal` elements then count only from
   * index window.size on (symbols beyond the window).
   */
  window?: LocalRows
}

/**
 * Decodes the difference between a remote set (its coded symbols) and ours.
 * Incremental: symbols arrive in batches; the table holds remote − local, pure
 * symbols are peeled from a worklist, and each recovered element joins the
 * members so that it is subtracted from later symbols too. Never throws on
 * what the remote sends: an inconsistent stream, or one past a limit, ends in
 * `failed` (and the decoder ignores everything after).
 */
export class RibltDecoder {
  /** Recovered elements, with the sign that cancels them. */
  readonly #members: Members
  /** Our elements (`addLocal`), subtracted from symbols `localsFrom` on. */
  readonly #locals: Members
  readonly #window: LocalRows | null
  readonly #localsFrom: number
  readonly #table: Table
  readonly #salt: Buffer
  /** Recovered elements by their bytes (latin1), with their net sign: + remote only, − local only. */
  readonly #recovered = new Map<string, { element: Buffer; net: number }>()
  #recoveries = 0
  readonly #maxDifferences: number
  readonly #maxSymbols: number
  #failed = false
  #changes = 0
  #verified = -1

  constructor(
    readonly width: number,
    salt: Buffer,
    opts: RibltDecoderOptions = {}
  ) {
    checkArgs(width, salt)
    this.#members = new Members(width)
    this.#locals = new Members(width)
    this.#window = opts.window ?? null
    this.#localsFrom = this.#window?.size ?? 0
    this.#table = new Table(width)
    this.#salt = Buffer.from(salt)
    this.#maxDifferences = opts.maxDifferences ?? 100_000
    this.#maxSymbols = opts.maxSymbols ?? 3 * this.#maxDifferences + 1024
  }

  /** Coded symbols received so far: the next batch starts at this index. */
  get received(): number {
    return this.#table.length
  }

  /** The stream was inconsistent or went past a limit; nothing more is decoded. */
  get failed(): boolean {
    return this.#failed
  }

  /** True once every difference is recovered (the subtracted, peeled table is empty). */
  get decoded(): boolean {
    const t = this.#table
    if (this.#failed || t.length === 0 || t.dirty !== 0) return false
    if (this.#verified !== this.#changes) {
      if (t.bytes.subarray(0, t.length * this.width).some((b) => b !== 0)) return false
      this.#verified = this.#changes
    }
    return true
  }

  /**
   * Adds an element of our own set (any time, also after symbols arrived).
   * With a window, it counts only in symbols beyond it.
   */
  addLocal(element: Buffer): void {
    must(element.byteLength === this.width, `element must be ${this.width} bytes`)
    const h = hash64(element, this.#salt)
    const i = this.#locals.push(element, h.hi, h.lo, -1)
    this.#changes++
    this.#locals.apply(this.#table, this.#localsFrom, this.#table.length, i, i + 1)
    this.#peel()
  }

  /** The remote's coded symbols, in order, starting at index `received`. */
  addRemote(symbols: CodedSymbol[]): void {
    const t = this.#table
    let sane = t.length + symbols.length <= this.#maxSymbols
    for (const s of symbols) {
      must(s.sum.byteLength === this.width, `sum must be ${this.width} bytes`)
      if (!Number.isSafeInteger(s.count) || Math.abs(s.count) > 2 ** 40) sane = false
    }
    if (!sane) this.#fail()
    if (this.#failed) return
    const from = t.length
    const to = from + symbols.length
    t.grow(symbols.length)
    const w = this.width
    for (const [k, s] of symbols.entries()) {
      t.bytes.set(s.sum, (from + k) * w)
      t.hi[from + k] = s.hashHi
      t.lo[from + k] = s.hashLo
      t.num[from + k] = s.count
    }
    const covered = Math.min(to, this.#localsFrom)
    if (covered > from) subtract(t, this.#window!.rows(from, covered))
    for (let j = from; j < to; j++) t.note(j, false)
    this.#changes++
    this.#members.apply(t, from, to)
    this.#locals.apply(t, Math.max(from, this.#localsFrom), to)
    this.#peel()
  }

  /** Elements only the remote has (complete once `decoded`). */
  remoteOnly(): Buffer[] {
    return [...this.#recovered.values()].filter((r) => r.net > 0).map((r) => r.element)
  }

  /** Elements only we have (complete once `decoded`). */
  localOnly(): Buffer[] {
    return [...this.#recovered.values()].filter((r) => r.net < 0).map((r) => r.element)
  }

  #fail(): void {
    this.#failed = true
    this.#table.candidates.length = 0
  }

  /** A new member, applied with `delta` to every symbol received so far. */
  #enter(element: Uint8Array, hi: number, lo: number, delta: number): void {
    const m = this.#members
    const i = m.push(element, hi, lo, delta)
    this.#changes++
    m.apply(this.#table, 0, this.#table.length, i, i + 1)
  }

  #peel(): void {
    const t = this.#table
    const w = this.width
    while (t.candidates.length > 0 && !this.#failed) {
      const j = t.candidates.pop()!
      const cnt = t.num[j]!
      if (cnt !== 1 && cnt !== -1) continue
      const sum = t.bytes.subarray(j * w, (j + 1) * w)
      const h = hash64(sum, this.#salt)
      if (h.hi !== t.hi[j]! >>> 0 || h.lo !== t.lo[j]! >>> 0) continue
      if (++this.#recoveries > this.#maxDifferences) this.#fail()
      else {
        const element = Buffer.from(sum)
        // Recovered twice with opposite signs (a local element added late): they cancel.
        const key = element.toString('latin1')
        const r = this.#recovered.get(key) ?? { element, net: 0 }
        r.net += cnt
        if (r.net === 0) this.#recovered.delete(key)
        else this.#recovered.set(key, r)
        // Removed from every symbol so far (which empties j) and from every later one.
        this.#enter(element, h.hi, h.lo, -cnt)
      }
    }
  }
}

/** Subtracts the rows of `ours` (from index ours.base) from `t`, without noting them. */
function subtract(t: Table, ours: Table): void {
  const w = t.width
  const at = ours.base * w
  for (let k = 0; k < ours.length * w; k++) t.bytes[at + k]! ^= ours.bytes[k]!
  for (let j = 0; j < ours.length; j++) {
    t.hi[ours.base + j]! ^= ours.hi[j]!
    t.lo[ours.base + j]! ^= ours.lo[j]!
    t.num[ours.base + j]! -= ours.num[j]!
  }
}
