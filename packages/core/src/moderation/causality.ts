/**
 * The causal graph of a set of records: each names in `deps` the records its
 * signer held. A record counts once its whole past is held; until then it is
 * pending (a peer sends a record's past before it, so among honest peers
 * this lasts one message at most). `precedes(x, y)`: x is in y's past.
 *
 * Ids are hashes of the records' bytes, deps included, so the graph has no
 * cycle. To answer `precedes` in O(1), the records are cut into chains (a
 * record continues the chain of a dep that no other record continued yet)
 * and each record keeps, per chain, the last position of that chain in its
 * past: x ≺ y iff y's clock on x's chain reaches x's position. The chains
 * are as many as records made without seeing each other (the devices that
 * sign concurrently), so the clocks cost records × chains; past a budget,
 * `precedes` searches the deps instead (pruned by depth: a record no deeper
 * than x cannot have x in its past).
 */
import type { VerifiedRecord } from './signing.js'

/** Most clock entries (records × chains) kept: 4 MiB of Int32. */
const CLOCK_BUDGET = 1 << 20

export class Causality {
  /** The records whose whole past is held, in a causal order (shallowest first, then by id). */
  readonly complete: VerifiedRecord[] = []
  /** Ids (hex) of the records that wait for part of their past, in order. */
  readonly pending: string[] = []
  #deps: number[][] = []
  #depth: number[] = []
  #chain: Int32Array = new Int32Array(0)
  #position: Int32Array = new Int32Array(0)
  /** Per record, per chain: the last position of the chain in its past (-1: none); null past the budget. */
  #clocks: Int32Array | null = null
  #chains = 0
  readonly #memo = new Map<number, boolean>()

  /** `clockBudget`: most clock entries to keep (tests set it to 0 to search instead). */
  constructor(records: Iterable<VerifiedRecord>, { clockBudget = CLOCK_BUDGET } = {}) {
    const byId = new Map<string, number>()
    const held: VerifiedRecord[] = []
    for (const r of records) {
      if (byId.has(r.hex)) continue
      byId.set(r.hex, held.length)
      held.push(r)
    }
    // Deps as positions in `held` (-1: not held), one hex conversion per dep.
    const deps = held.map((r) => r.record.deps.map((d) => byId.get(d.toString('hex')) ?? -1))
    const depth = depthsOf(deps)
    const order = held
      .map((_, i) => i)
      .sort((a, b) => depth[a]! - depth[b]! || (held[a]!.hex < held[b]!.hex ? -1 : 1))
    const position = new Int32Array(held.length).fill(-1)
    for (const i of order) {
      if (depth[i]! < 0) {
        this.pending.push(held[i]!.hex)
        continue
      }
      position[i] = this.complete.length
      this.complete.push(held[i]!)
      this.#depth.push(depth[i]!)
    }
    this.pending.sort()
    for (const i of order) {
      if (depth[i]! >= 0) this.#deps.push(deps[i]!.map((d) => position[d]!))
    }
    this.#cutChains(clockBudget)
  }

  /** True when the record at `x` is in the past of the record at `y` (positions in `complete`). */
  precedes(x: number, y: number): boolean {
    if (this.#depth[x]! >= this.#depth[y]!) return false
    if (this.#clocks !== null) {
      return this.#clocks[y * this.#chains + this.#chain[x]!]! >= this.#position[x]!
    }
    return this.#search(x, y)
  }

  /** True when neither record is in the other's past. */
  concurrent(x: number, y: number): boolean {
    return x !== y && !this.precedes(x, y) && !this.precedes(y, x)
  }

  #cutChains(budget: number): void {
    const n = this.complete.length
    this.#chain = new Int32Array(n)
    this.#position = new Int32Array(n)
    const continued = new Uint8Array(n)
    for (let i = 0; i < n; i++) {
      const dep = this.#deps[i]!.find((d) => continued[d] === 0)
      if (dep === undefined) {
        this.#chain[i] = this.#chains++
        this.#position[i] = 0
      } else {
        continued[dep] = 1
        this.#chain[i] = this.#chain[dep]!
        this.#position[i] = this.#position[dep]! + 1
      }
    }
    const width = this.#chains
    if (n * width > budget) return
    const clocks = new Int32Array(n * width).fill(-1)
    for (let i = 0; i < n; i++) {
      const row = i * width
      for (const d of this.#deps[i]!) {
        const from = d * width
        for (let c = 0; c < width; c++) {
          if (clocks[from + c]! > clocks[row + c]!) clocks[row + c] = clocks[from + c]!
        }
      }
      clocks[row + this.#chain[i]!] = this.#position[i]!
    }
    this.#clocks = clocks
  }

  #search(x: number, y: number): boolean {
    const key = x * this.complete.length + y
    const memo = this.#memo.get(key)
    if (memo !== undefined) return memo
    const floor = this.#depth[x]!
    const seen = new Set<number>()
    const stack = [y]
    let found = false
    while (stack.length > 0 && !found) {
      for (const d of this.#deps[stack.pop()!]!) {
        if (d === x) {
          found = true
          break
        }
        if (this.#depth[d]! > floor && !seen.has(d)) {
          seen.add(d)
          stack.push(d)
        }
      }
    }
    this.#memo.set(key, found)
    return found
  }
}

/**
 * Each record's depth (1 + the deepest of its deps; 0 without deps), or -1
 * when part of its past is missing. By an explicit stack: a chain of 10,000
 * records is no recursion.
 */
function depthsOf(deps: number[][]): Int32Array {
  const UNKNOWN = -2
  const depth = new Int32Array(deps.length).fill(UNKNOWN)
  // Records whose deps are being resolved: meeting one again would be a cycle.
  const expanded = new Uint8Array(deps.length)
  for (let start = 0; start < deps.length; start++) {
    const stack = [start]
    while (stack.length > 0) {
      const i = stack[stack.length - 1]!
      if (depth[i] !== UNKNOWN) {
        stack.pop()
        continue
      }
      let deepest = 0
      let waiting = false
      for (const d of deps[i]!) {
        const known = d < 0 ? -1 : depth[d]!
        if (known === UNKNOWN && expanded[d] === 0) {
          stack.push(d)
          waiting = true
        } else if (known < 0 || deepest < 0) {
          deepest = -1
        } else {
          deepest = Math.max(deepest, known + 1)
        }
      }
      if (waiting) {
        expanded[i] = 1
        continue
      }
      stack.pop()
      expanded[i] = 0
      depth[i] = deepest
    }
  }
  return depth
}
