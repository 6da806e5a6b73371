/**
 * Hypercore's hotswap held back (replication/hotswap.ts): a block requested
 * from one peer is asked of another only once the connection it was asked
 * over has gone quiet (or the request is over a limit), never while its answer
 * is being verified, and one skipped is looked at again when it becomes due.
 * First on a stand-in replicator with the fields hotswap.ts reads, then on
 * real hypercores: a peer that answers slowly but steadily is not raced, one
 * that stops answering is worked around, a block whose two answers land
 * together is verified and counted once, and the private fields are there.
 */
import { EventEmitter } from 'node:events'
import type { Duplex } from 'node:stream'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import { describe, expect, it, vi } from 'vitest'
import {
  HOTSWAP_AFTER_MS,
  HOTSWAP_LIMIT_ANSWERS,
  HOTSWAP_LIMIT_MS,
  holdBackHotswaps
} from '../src/replication/hotswap.js'
import { link, onCleanup, tmpStore, until } from './helpers.js'

interface Block {
  name: string
  processing?: boolean
  inflight: Array<{ timestamp: number; peer?: { protomux: object }; priority?: number }>
}

function replicator(blocks: Block[]) {
  const peers = ['p1', 'p2']
  const picked: Array<{ peer: string; block: string }> = []
  let onUpdate: (() => void) | null = null
  const r = {
    destroyed: false,
    peers,
    hotswaps: {
      *pick(_peer: unknown): Generator<Block> {
        yield* blocks
      }
    },
    /** As hypercore's updatePeer: looks for hotswaps for the peer. */
    updatePeer(peer: string) {
      for (const block of r.hotswaps.pick(peer)) picked.push({ peer, block: block.name })
      onUpdate?.()
    }
  }
  const core = Object.assign(new EventEmitter(), { core: { replicator: r } })
  const updated = () =>
    new Promise<void>((resolve) => {
      onUpdate = resolve
    })
  const offered = () => [...r.hotswaps.pick('p1')].map((b) => b.name)
  /** A block arriving over `protomux`, its request sent `tookMs` ago (hypercore's `download` event). */
  const download = (protomux: object, tookMs = 0) =>
    core.emit('download', 0, 64, { protomux }, { timestamp: Date.now() - tookMs })
  return { r, core: core as unknown as Hypercore<unknown>, picked, updated, offered, download }
}

describe('hotswaps held back', () => {
  it('offers only blocks whose request is overdue, and looks again once the others are due', async () => {
    const now = Date.now()
    const blocks: Block[] = [
      { name: 'recent', inflight: [{ timestamp: now }] },
      { name: 'overdue', inflight: [{ timestamp: now - HOTSWAP_AFTER_MS - 10 }] },
      // asked of two peers already, the second just now
      { name: 'swapped', inflight: [{ timestamp: now - 5000 }, { timestamp: now }] }
    ]
    const { r, core, picked, updated, offered } = replicator(blocks)
    holdBackHotswaps(core)
    holdBackHotswaps(core) // once per replicator
    expect(offered()).toEqual(['overdue'])
    // hypercore looks again only when something happens: our timer does it
    await Promise.race([
      updated(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no second look')), 5000))
    ])
    // not before 'recent' was due (timed from its request: a loaded machine runs late, never early)
    expect(Date.now() - now).toBeGreaterThanOrEqual(HOTSWAP_AFTER_MS - 50)
    expect(picked.filter((p) => p.peer === 'p1').map((p) => p.block)).toEqual([
      'recent',
      'overdue',
      'swapped'
    ])
    r.destroyed = true
  })

  it('holds a block while the connection it was asked over answers, not once it is quiet', () => {
    const busy = {}
    const quiet = {}
    const old = Date.now() - 5000
    const { core, offered, download } = replicator([
      { name: 'busy', inflight: [{ timestamp: old, peer: { protomux: busy } }] },
      { name: 'quiet', inflight: [{ timestamp: old, peer: { protomux: quiet } }] }
    ])
    holdBackHotswaps(core)
    download(busy, 4000) // a block just arrived over `busy`, nothing over `quiet` for 5 s
    expect(offered()).toEqual(['quiet'])
  })

  it('waits for a slow connection’s own answer time before calling it quiet', () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    try {
      const slow = {}
      const t0 = Date.now()
      const { core, offered, download } = replicator([
        { name: 'asked', inflight: [{ timestamp: t0 - 6000, peer: { protomux: slow } }] }
      ])
      holdBackHotswaps(core)
      download(slow, 5000) // its answers take 5 s
      vi.setSystemTime(t0 + 2000) // quiet 2 s: more than HOTSWAP_AFTER_MS, less than its answer time
      expect(offered()).toEqual([])
      vi.setSystemTime(t0 + 5000)
      expect(offered()).toEqual(['asked'])
    } finally {
      vi.useRealTimers()
    }
  })

  it('asks elsewhere a request over the limit, however busy its connection', () => {
    const busy = {}
    const now = Date.now()
    const { core, offered, download } = replicator([
      {
        name: 'over',
        inflight: [{ timestamp: now - HOTSWAP_LIMIT_MS - 10, peer: { protomux: busy } }]
      },
      {
        name: 'under',
        inflight: [{ timestamp: now - HOTSWAP_LIMIT_MS + 500, peer: { protomux: busy } }]
      }
    ])
    holdBackHotswaps(core)
    download(busy)
    expect(offered()).toEqual(['over'])
  })

  it('stretches the limit to the connection’s own answer time', () => {
    const slow = {}
    const answerMs = HOTSWAP_LIMIT_MS // answers take this long: the limit is HOTSWAP_LIMIT_ANSWERS times it
    const now = Date.now()
    const { core, offered, download } = replicator([
      { name: 'twice', inflight: [{ timestamp: now - 2 * answerMs, peer: { protomux: slow } }] },
      {
        name: 'beyond',
        inflight: [
          { timestamp: now - HOTSWAP_LIMIT_ANSWERS * answerMs - 10, peer: { protomux: slow } }
        ]
      }
    ])
    holdBackHotswaps(core)
    download(slow, answerMs)
    expect(offered()).toEqual(['beyond'])
  })

  it('does not ask again a block whose answer is being verified', () => {
    const old = Date.now() - 5000
    const { core, offered } = replicator([
      { name: 'verifying', processing: true, inflight: [{ timestamp: old }] },
      { name: 'answered', inflight: [{ timestamp: old, priority: 255 }] },
      { name: 'unanswered', inflight: [{ timestamp: old }] }
    ])
    holdBackHotswaps(core)
    expect(offered()).toEqual(['unanswered'])
  })

  it('changes nothing on a replicator without a hotswap queue', () => {
    const r = { destroyed: false, peers: [], updatePeer() {} }
    holdBackHotswaps({ core: { replicator: r } } as unknown as Hypercore<unknown>)
    expect(Object.keys(r)).toEqual(['destroyed', 'peers', 'updatePeer'])
  })
})

/**
 * A one-way link from `from` to `to` that can hold what it carries, or let it
 * through a few bytes at a time (a slow link that keeps delivering).
 */
class Valve {
  #queue: Buffer[] = []
  #mode: 'open' | 'trickle' | 'shut' = 'open'
  #timer: ReturnType<typeof setInterval> | null = null

  constructor(
    from: Duplex,
    private readonly to: Duplex,
    private readonly bytesPerTick: number
  ) {
    from.on('data', (chunk: Buffer) => {
      if (this.#mode === 'open') to.write(chunk)
      else this.#queue.push(chunk)
    })
    onCleanup(() => this.#stop())
  }

  shut(): void {
    this.#mode = 'shut'
    this.#stop()
  }

  /** Lets everything held through at once, and what comes after. */
  release(): void {
    this.#mode = 'open'
    this.#stop()
    for (const chunk of this.#queue.splice(0)) if (!this.to.destroyed) this.to.write(chunk)
  }

  trickle(everyMs: number): void {
    this.#mode = 'trickle'
    this.#stop()
    this.#timer = setInterval(() => {
      let budget = this.bytesPerTick
      while (budget > 0 && this.#queue.length > 0) {
        const head = this.#queue[0]!
        const part = head.subarray(0, budget)
        budget -= part.length
        if (part.length === head.length) this.#queue.shift()
        else this.#queue[0] = head.subarray(part.length)
        if (!this.to.destroyed) this.to.write(part)
      }
    }, everyMs)
  }

  #stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}

const BLOCKS = 20
const BLOCK_SIZE = 1024

/**
 * A writer A, a reader B whose download of every block went to A alone (A's
 * answers held on the way to B), and C holding a full copy, connected to B
 * only then. Counts what A and C upload.
 */
async function slowPeerAndSpare() {
  const [sa, sb, sc] = [await tmpStore(), await tmpStore(), await tmpStore()]
  const a = sa.get({ name: 'w' })
  await a.append(Array.from({ length: BLOCKS }, (_, i) => Buffer.alloc(BLOCK_SIZE, i)))
  const b = sb.get({ key: a.key! })
  const c = sc.get({ key: a.key! })
  await Promise.all([b.ready(), c.ready()])
  // C's copy, over a link of its own that is gone before B starts
  const setup = link(sa.replicate(true), sc.replicate(false))
  await c.download({ start: 0, end: BLOCKS }).done()
  await setup.destroy()

  holdBackHotswaps(b as Hypercore<unknown>)
  const ra = sa.replicate(true)
  const rb = sb.replicate(false)
  rb.pipe(ra)
  ra.on('error', () => {})
  rb.on('error', () => {})
  const valve = new Valve(ra, rb, 96)
  onCleanup(() => {
    ra.destroy()
    rb.destroy()
  })
  await b.update({ wait: true })
  expect(b.length).toBe(BLOCKS)

  const uploads = { a: 0, c: 0 }
  a.on('upload', () => uploads.a++)
  c.on('upload', () => uploads.c++)
  const downloads = new Map<number, number>()
  b.on('download', (index: number) => downloads.set(index, (downloads.get(index) ?? 0) + 1))

  valve.shut()
  const done = b.download({ start: 0, end: BLOCKS }).done()
  // every request went to A (the one peer): A answered each, its answers wait in the valve
  await until(() => uploads.a === BLOCKS, 'A answered every request of B')
  const spare = () => link(sb.replicate(true), sc.replicate(false) as Duplex)
  /** C linked to B with C's answers through a valve of their own. */
  const valvedSpare = () => {
    const rb2 = sb.replicate(true)
    const rc = sc.replicate(false)
    rb2.pipe(rc)
    rb2.on('error', () => {})
    rc.on('error', () => {})
    onCleanup(() => {
      rb2.destroy()
      rc.destroy()
    })
    return new Valve(rc, rb2, 96)
  }
  return {
    a,
    b,
    c,
    valve,
    done,
    uploads,
    downloads,
    spare,
    valvedSpare,
    stores: [sa, sb, sc] as Corestore[]
  }
}

describe('hotswaps held back, on real hypercores', () => {
  it('hypercore still has what hotswap.ts reads', async () => {
    const { b, valve, done } = await slowPeerAndSpare()
    const replicator = (b as unknown as { core: { replicator: Record<string, unknown> } }).core
      .replicator
    const queue = replicator.hotswaps as { pick(peer: unknown): Iterable<Record<string, unknown>> }
    expect(typeof queue.pick).toBe('function')
    expect(typeof replicator.updatePeer).toBe('function')
    expect(Array.isArray(replicator.peers)).toBe(true)
    // hypercore's own pick (holdBackHotswaps wrapped this queue's)
    const pick = Object.getPrototypeOf(queue).pick as (
      peer: unknown
    ) => Iterable<Record<string, unknown>>
    const [block] = [...pick.call(queue, {})]
    expect(block).toBeDefined()
    expect(block!.processing).toBe(false)
    const [request] = block!.inflight as Array<Record<string, unknown>>
    expect(typeof request!.timestamp).toBe('number')
    expect(request!.peer).toBe(b.peers[0])
    expect((request!.peer as { protomux: unknown }).protomux).toBe(b.peers[0]!.protomux)
    expect(typeof request!.priority).toBe('number')
    expect(request!.priority).not.toBe(255)
    // the core's verify (wrapped once: oneAnswerPerBlock) and bitfield
    const inner = (b as unknown as { core: Record<string, unknown> }).core
    expect(Object.hasOwn(inner, 'verify')).toBe(true)
    expect(typeof Object.getPrototypeOf(inner).verify).toBe('function')
    expect((inner.bitfield as { get(index: number): boolean }).get(0)).toBe(false)
    // the download event names the peer and passes the request, timestamp and all
    const seen: unknown[][] = []
    b.on('download', (...args: unknown[]) => seen.push(args))
    valve.trickle(5)
    await done
    expect(seen.length).toBe(BLOCKS)
    expect(seen[0]![2]).toBe(b.peers[0])
    expect(typeof (seen[0]![3] as { timestamp?: unknown }).timestamp).toBe('number')
  })

  it('does not race a peer that answers slowly but steadily', async () => {
    const { valve, done, uploads, downloads, spare } = await slowPeerAndSpare()
    // 20 answers of ~1.2 KB at 96 B / 20 ms: about 5 s, one answer every ~250 ms
    valve.trickle(20)
    spare()
    await done
    expect(uploads.c).toBe(0)
    expect([...downloads.values()].every((n) => n === 1)).toBe(true)
    expect(downloads.size).toBe(BLOCKS)
  }, 30_000)

  it('verifies and counts a raced block once when both answers land together', async () => {
    const { b, done, uploads, downloads, valve, valvedSpare } = await slowPeerAndSpare()
    const stats = (b as unknown as { core: { replicator: { stats: { hotswaps: number } } } }).core
      .replicator.stats
    const spareValve = valvedSpare()
    await until(() => b.peers.length === 2, 'B sees C')
    spareValve.shut()
    // A is quiet: B asks C for the blocks too; C answers, its answers held like A's
    await until(
      () => stats.hotswaps > 0 && uploads.c === stats.hotswaps,
      'C answered every hotswap of B'
    )
    const raced = uploads.c
    // both answers of each raced block reach B together: the second lands while the first is verified
    valve.release()
    spareValve.release()
    await done
    expect(downloads.size).toBe(BLOCKS)
    expect([...downloads.entries()].filter(([, n]) => n > 1)).toEqual([])
    expect(uploads.a + uploads.c).toBe(BLOCKS + raced)
  }, 30_000)

  it('gets past a peer that stopped answering', async () => {
    const { done, uploads, downloads, spare } = await slowPeerAndSpare()
    spare() // A's answers stay in the shut valve
    await done
    expect(uploads.c).toBe(BLOCKS)
    expect(downloads.size).toBe(BLOCKS)
  }, 30_000)
})
