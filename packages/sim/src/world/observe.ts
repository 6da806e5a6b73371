/**
 * What the checkers read of the world's links and hostile peers: the
 * traffic of every honest–hostile link, the links an honest peer sends on
 * while the other side does not read, and what puppets without the key
 * were sent.
 */
import type { HostileTraffic } from '../checks/amplification.js'
import type { OutsiderView } from '../checks/confidentiality.js'
import type { StalledLink } from '../checks/queued.js'
import type { Ledger } from '../ledger.js'
import type { HostilePeer } from './HostilePeer.js'
import type { Link } from './Link.js'
import type { SimHub } from './SimHub.js'

/** What the checkers read of the world (World has it; named here so that World's import of this module is the only edge). */
export interface ObservedWorld {
  readonly overTestnet: boolean
  readonly hostile: Map<number, HostilePeer>
  readonly hub: SimHub
  readonly ledger: Ledger
  isHonestKey(publicKey: string | null): boolean
  isMember(peer: number, set: number): boolean
  /** The most feeds an honest peer's set held in a snapshot so far. */
  largestSet(peer: number, set: number): number
  indexOf(publicKey: string): number | undefined
  allLinks(): ReadonlySet<Link>
}

/** Traffic of every link between an honest and a hostile peer. */
export function hostileTraffic(world: ObservedWorld): HostileTraffic[] {
  const out: HostileTraffic[] = []
  if (world.overTestnet) {
    for (const peer of world.hostile.values()) {
      for (const t of peer.traffic()) {
        const honest = world.indexOf(t.remote)
        if (honest === undefined || !world.isHonestKey(t.remote)) continue
        out.push({
          honest,
          hostile: peer.index,
          sent: t.sent,
          received: t.received,
          sets: keyheld(world, honest, peer)
        })
      }
    }
    return out
  }
  for (const link of world.allLinks()) {
    for (const [honest, hostile] of [
      [link.a, link.b],
      [link.b, link.a]
    ] as const) {
      const peer = world.hostile.get(hostile)
      if (peer === undefined || world.hostile.has(honest) || honest < 0) continue
      out.push({
        honest,
        hostile,
        sent: link.from(honest).bytes,
        received: link.from(hostile).bytes,
        sets: keyheld(world, honest, peer)
      })
    }
  }
  return out
}

/**
 * The honest peer's size of each set the hostile peer holds the key of and
 * the honest peer is a member of (only those pair on the link).
 */
function keyheld(world: ObservedWorld, honest: number, peer: HostilePeer): number[] {
  const sizes: number[] = []
  peer.setup.sets.forEach((set, i) => {
    if (peer.setup.modes[i] !== 'keyholder' || !world.isMember(honest, set)) return
    sizes.push(world.largestSet(honest, set))
  })
  return sizes
}

/** Live links one side of which does not read, as seen from the honest sender. */
export function stalledLinks(world: ObservedWorld): StalledLink[] {
  const out: StalledLink[] = []
  for (const link of world.hub.links()) {
    for (const [sender, reader] of [
      [link.a, link.b],
      [link.b, link.a]
    ] as const) {
      const pipe = link.from(sender)
      if (pipe.reading || world.hostile.has(sender) || sender < 0) continue
      out.push({ sender, reader, queued: link.end(sender).queued() + pipe.held })
    }
  }
  return out
}

/** What each forger's and stranger's puppet was sent by an honest peer (hostile peers link too). */
export function outsiders(world: ObservedWorld): OutsiderView[] {
  const out: OutsiderView[] = []
  for (const peer of world.hostile.values()) {
    for (const attack of peer.attacks()) {
      if (attack.mode === 'keyholder' || !world.isHonestKey(attack.remote)) continue
      const stats = attack.puppet.stats
      out.push({
        peer: peer.index,
        set: attack.set,
        mode: attack.mode,
        received: stats.received.reduce((a, b) => a + b, 0),
        byType: [...stats.received],
        strangerOpens: stats.strangerOpens
      })
    }
  }
  return out
}
