// Scenario 17, a block in a mesh: `peers` members of one moderated set (the
// first its founder, the second a spammer), every two connected by a pipe in
// this process. Each round the spammer writes a new feed F of `entries` blocks;
// as soon as the founder lists F (the other members are still downloading it),
// the founder blocks F. Measured per member: the time from `block()` until the
// member's `moderation` event names F blocked, which it emits once the block is
// applied there (F removed and purged if held, refused from every peer). After
// that event the member neither lists nor serves F: every block of F it uploads
// or downloads afterwards is counted (through hypercore's `upload` and
// `download` events on a weak session of every core its corestore opens).
import type { ModerationEvent, Multifeed } from '@multifeed/core'
import type { Corestore, Hypercore } from '@multifeed/holepunch-types'
import HypercoreClass from 'hypercore'
import { now, sleep, withTimeout } from '../clock.js'
import { type Link, pipeLink } from '../link.js'
import { freshStore } from '../raw.js'
import { rmDir } from '../tempStorage.js'
import { fill } from '../workload.js'

type Core = typeof import('@multifeed/core')

/** One block of one feed, as the members saw it. */
export interface BlockRound {
  /** ms from `block()` called until each member's event (founder first, spammer second). */
  perPeer: number[]
  /** Blocks of F uploaded / downloaded by a member after its event, all members together. */
  uploadsAfter: number
  downloadsAfter: number
  /** Blocks of F uploaded across the mesh between `block()` and the member's event. */
  uploadsBefore: number
  /** Members that held none of F when the block reached them. */
  neverHeld: number
}

type Watching = Corestore & { watch(fn: (core: unknown) => void): void }
const WeakSession = HypercoreClass as unknown as new (options: {
  core: unknown
  weak: boolean
}) => Hypercore<unknown>

/** Every upload and download of a block of the watched feed, with its time. */
class Transfers {
  watched: string | null = null
  uploads: number[] = []
  downloads: number[] = []

  constructor(store: Corestore) {
    ;(store as Watching).watch((core) => {
      const session = new WeakSession({ core, weak: true })
      const mine = () => this.watched !== null && session.key?.toString('hex') === this.watched
      session.on('upload', () => {
        if (mine()) this.uploads.push(now())
      })
      session.on('download', () => {
        if (mine()) this.downloads.push(now())
      })
    })
  }

  watch(key: Buffer): void {
    this.watched = key.toString('hex')
    this.uploads = []
    this.downloads = []
  }
}

interface Member {
  dir: string
  store: Corestore
  multi: Multifeed
  transfers: Transfers
}

const isFeed = (target: unknown, key: Buffer) =>
  Buffer.isBuffer((target as { feed?: Buffer }).feed) &&
  (target as { feed: Buffer }).feed.equals(key)

export class BlockMesh {
  private rounds = 0

  private constructor(
    readonly members: Member[],
    readonly links: Link[]
  ) {}

  static async create(core: Core, peers: number): Promise<BlockMesh> {
    const members: Member[] = []
    const mesh = new BlockMesh(members, [])
    try {
      let invite: string | null = null
      for (let i = 0; i < peers; i++) {
        const { dir, store } = await freshStore(`mod14-mesh-${i}`)
        const multi: Multifeed = await core.Multifeed.open(
          store,
          invite,
          invite ? {} : { moderated: true }
        )
        invite ??= multi.invite
        members.push({ dir, store, multi, transfers: new Transfers(store) })
      }
      for (let i = 0; i < peers; i++) {
        for (let j = i + 1; j < peers; j++) {
          mesh.links.push(
            pipeLink(members[i]!.multi.replicate(true), members[j]!.multi.replicate(false))
          )
        }
      }
      return mesh
    } catch (err) {
      await mesh.close()
      throw err
    }
  }

  /**
   * One round: a new feed of `entries` blocks of `blockSize` bytes, blocked as
   * soon as the founder lists it (`spread` false: the others are downloading
   * it), or once every member holds all of it (`spread`: a quiet mesh).
   */
  async round(
    entries: number,
    blockSize: number,
    timeoutMs: number,
    spread = false
  ): Promise<BlockRound> {
    const [founder, spammer] = this.members as [Member, Member]
    const writer = await spammer.multi.writer(`spam${this.rounds++}`)
    const F = Buffer.from(writer.key!)
    for (const m of this.members) m.transfers.watch(F)
    const listed = new Promise<void>((resolve) => {
      const onfeed = (info: { key: Buffer }) => {
        if (!info.key.equals(F)) return
        founder.multi.off('feed', onfeed)
        resolve()
      }
      founder.multi.on('feed', onfeed)
    })
    await fill(writer, entries, blockSize, this.rounds * 1_000_003)
    await writer.close()
    await withTimeout(listed, timeoutMs, 'the founder lists the new feed')
    if (spread) await withTimeout(this.#held(F, entries), timeoutMs, 'every member holds F')

    const heldAtBlock = this.members.map((m) => m.multi.feed(F)?.length ?? 0)
    const reached: number[] = this.members.map(() => Number.NaN)
    const offs: Array<() => void> = []
    const applied = this.members.map(
      (m, i) =>
        new Promise<void>((resolve) => {
          const onmoderation = (ev: ModerationEvent) => {
            if (!ev.blocked.some((b) => isFeed(b.target, F))) return
            reached[i] = now()
            m.multi.off('moderation', onmoderation)
            resolve()
          }
          m.multi.on('moderation', onmoderation)
          offs.push(() => m.multi.off('moderation', onmoderation))
        })
    )
    try {
      const t0 = now()
      await founder.multi.moderation!.block({ feed: F }, { reason: 'spam' })
      await withTimeout(Promise.all(applied), timeoutMs, 'every member applies the block')
      // Anything of F still moving would show within a moment: the counters
      // are read once every member also says it lists F no more.
      await sleep(200)
      for (const m of this.members) {
        if (m.multi.feed(F) !== null) throw new Error('a member still lists the blocked feed')
      }
      let uploadsAfter = 0
      let downloadsAfter = 0
      let uploadsBefore = 0
      this.members.forEach((m, i) => {
        uploadsAfter += m.transfers.uploads.filter((t) => t > reached[i]!).length
        downloadsAfter += m.transfers.downloads.filter((t) => t > reached[i]!).length
        uploadsBefore += m.transfers.uploads.filter((t) => t >= t0 && t <= reached[i]!).length
      })
      return {
        perPeer: reached.map((t) => t - t0),
        uploadsAfter,
        downloadsAfter,
        uploadsBefore,
        neverHeld: heldAtBlock.filter((n) => n === 0).length
      }
    } finally {
      for (const off of offs) off()
      for (const m of this.members) m.transfers.watched = null
    }
  }

  /** Resolves once every member holds `length` blocks of F (its `feed` and `append` events). */
  #held(F: Buffer, length: number): Promise<void> {
    return new Promise((resolve) => {
      const offs: Array<() => void> = []
      const check = () => {
        if (!this.members.every((m) => m.multi.feed(F)?.length === length)) return
        for (const off of offs) off()
        resolve()
      }
      for (const m of this.members) {
        m.multi.on('feed', check)
        m.multi.on('append', check)
        offs.push(() => {
          m.multi.off('feed', check)
          m.multi.off('append', check)
        })
      }
      check()
    })
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.links.map((l) => l.close()))
    for (const m of this.members) {
      await m.multi.close().catch(() => {})
      await m.store.close().catch(() => {})
      await rmDir(m.dir)
    }
  }
}
