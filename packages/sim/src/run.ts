/**
 * One seed's run: the schedule played against a fresh mesh, the invariants
 * checked as it goes (every `CHECK_EVERY_MS`, or less often when checking
 * takes more than `CHECK_SHARE` of the time) and at the end, after the mesh
 * went quiet and had `settle` seconds to converge.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { amplificationBound } from '@multifeed/core'
import { checkAmplification } from './checks/amplification.js'
import { checkConfidentiality } from './checks/confidentiality.js'
import { checkConvergence } from './checks/convergence.js'
import { checkDownloads } from './checks/downloads.js'
import { checkDuplicates } from './checks/duplicates.js'
import { BlockedWatch, checkRestored, checkSameRecords, checkWire } from './checks/moderation.js'
import { checkPeerErrors } from './checks/peerErrors.js'
import { PROCESS_HEALTH, ProcessWatch } from './checks/processHealth.js'
import { checkQueued } from './checks/queued.js'
import type { Finding, Violation } from './checks/Violation.js'
import type { SimOptions } from './options.js'
import { buildSchedule, type SimEvent } from './schedule.js'
import { runAccess } from './world/access.js'
import { ChildPeer } from './world/ChildPeer.js'
import { hostileTraffic, outsiders, stalledLinks } from './world/observe.js'
import type { PeerSnapshot } from './world/snapshot.js'
import { type ModerationTally, World } from './world/World.js'

/** How often the continuous checks run while events play (at least). */
const CHECK_EVERY_MS = 2_000
/** The checks take at most this share of the time while events play (a big mesh takes long to snapshot). */
const CHECK_SHARE = 0.2
/** Longest an honest peer's action (start, stop, append) may take. */
const ACTION_MS = 30_000
/** How often convergence is polled at the end. */
const POLL_MS = 250

export interface SeedResult {
  seed: number
  fingerprint: string
  peers: number
  events: number
  blocks: number
  bytes: number
  seconds: number
  /** Most bytes an honest peer held for a peer that did not read, at any check. */
  maxQueued: number
  /** Largest bytes sent / received on an honest–hostile link (0: no hostile traffic). */
  maxAmplification: number
  /** Largest share of the amplification bound an honest–hostile link used (1: at the bound). */
  maxBoundShare: number
  /** Moderated runs: what the moderation events did, and frames the wire watch looked at. */
  moderation: (ModerationTally & { frames: number; spamFrames: number }) | null
  violations: Violation[]
}

export async function runSeed(
  seed: number,
  options: SimOptions,
  log: (line: string) => void = () => {}
): Promise<SeedResult> {
  const started = Date.now()
  const schedule = buildSchedule(seed, options)
  const watch = new ProcessWatch()
  const violations: Violation[] = []
  const seen = new Set<string>()
  let index = -1
  const report = (findings: Finding[]): void => {
    for (const f of findings) {
      // The first sighting of an invariant on a peer is enough (the rest repeats it).
      const id = `${f.invariant}|${f.peer}`
      if (seen.has(id)) continue
      seen.add(id)
      // First line only (a warning's message can carry a whole object dump).
      const detail = f.detail.split('\n')[0]!.slice(0, 300)
      violations.push({ ...f, detail, event: index })
      log(`VIOLATION ${f.invariant} (peer ${f.peer}, event ${index}): ${detail}`)
    }
  }
  watch.start()
  const world = new World(schedule, options, await runAccess(schedule))
  const moderated = schedule.moderation !== null
  const spammer = moderated ? world.identityOf(schedule.moderation!.spammer).toString('hex') : ''
  const blockedWatch = new BlockedWatch()
  let hitsSeen = 0
  const checkModeration = (snaps: PeerSnapshot[], final = false): void => {
    if (!moderated) return
    report(checkSameRecords(snaps, final))
    report(blockedWatch.check(snaps, world.ledger, (k) => world.discoveryKeyOf(k), spammer, final))
    report(checkWire(world.wire.hits.slice(hitsSeen)))
    hitsSeen = world.wire.hits.length
  }
  for (const peer of world.honest.values()) {
    if (peer instanceof ChildPeer) {
      peer.onProcessIssue = (detail) =>
        report([{ invariant: PROCESS_HEALTH, peer: peer.index, detail }])
    }
  }
  let errorsSeen = 0
  let maxQueued = 0
  const check = async (final = false): Promise<PeerSnapshot[]> => {
    const snaps = await world.snapshots()
    report(checkDuplicates(snaps))
    report(
      checkConfidentiality(
        snaps,
        world.ledger,
        (p, s) => world.isMember(p, s),
        (k) => world.discoveryKeyOf(k),
        outsiders(world)
      )
    )
    report(checkAmplification(hostileTraffic(world)))
    const stalled = stalledLinks(world)
    for (const link of stalled) maxQueued = Math.max(maxQueued, link.queued)
    report(checkQueued(stalled))
    report(checkPeerErrors(world.peerErrors.slice(errorsSeen), (k) => world.isHonestKey(k)))
    errorsSeen = world.peerErrors.length
    report(watch.take())
    checkModeration(snaps, final)
    return snaps
  }

  try {
    await world.start()
    const t0 = Date.now()
    let nextCheck = Date.now() + CHECK_EVERY_MS
    for (const [i, event] of schedule.events.entries()) {
      const wait = t0 + event.at - Date.now()
      if (wait > 0) await sleep(wait)
      index = i
      if (options.verbose) log(`event ${i} @${event.at} ms: ${describe(event)}`)
      else if (i > 0 && i % Math.ceil(schedule.events.length / 10) === 0) {
        log(
          `event ${i}/${schedule.events.length}, ${((Date.now() - t0) / 1000).toFixed(0)} s (planned ${(event.at / 1000).toFixed(0)} s)`
        )
      }
      await bounded(world.apply(event), `event ${i} (${event.kind})`).catch((err) =>
        report([
          { invariant: 'every honest action completes', peer: peerOf(event), detail: String(err) }
        ])
      )
      if (Date.now() >= nextCheck) {
        const begun = Date.now()
        await check()
        const took = Date.now() - begun
        nextCheck = Date.now() + Math.max(CHECK_EVERY_MS, (took * (1 - CHECK_SHARE)) / CHECK_SHARE)
      }
    }
    index = schedule.events.length
    log(`events done in ${((Date.now() - t0) / 1000).toFixed(0)} s; quiet, converging…`)
    // Each step of bringing the mesh to quiet is bounded alone; one that does
    // not complete is a violation, and the run goes on to its final checks.
    await world.quiet(<T>(action: Promise<T>, what: string) =>
      bounded(action, what).catch((err) => {
        report([{ invariant: 'every honest action completes', peer: -1, detail: String(err) }])
        return undefined as T
      })
    )
    const quiet = await world.snapshots()
    const deadline = Date.now() + options.settle * 1000
    let snaps = quiet
    const converged = (s: PeerSnapshot[]): boolean =>
      checkConvergence(s, world.ledger, (set) => world.members(set)).length === 0 &&
      (!moderated ||
        (checkSameRecords(s, true).length === 0 &&
          checkRestored(s, world.ledger, (set) => world.members(set), spammer).length === 0))
    while (Date.now() < deadline) {
      snaps = await world.snapshots()
      if (converged(snaps)) break
      await sleep(POLL_MS)
    }
    report(checkConvergence(snaps, world.ledger, (s) => world.members(s)))
    if (moderated) report(checkRestored(snaps, world.ledger, (s) => world.members(s), spammer))
    report(checkDownloads(quiet, await world.snapshots()))
    // Two final rounds: the blocked-feed rule counts a sighting seen twice with nothing changed.
    await check(true)
    await check(true)
  } finally {
    await world
      .destroy()
      .catch((err) =>
        report([{ invariant: PROCESS_HEALTH, peer: -1, detail: `teardown: ${String(err)}` }])
      )
    // Warnings of the teardown count too.
    await sleep(10)
    report(watch.take())
    watch.stop()
  }
  return {
    seed,
    fingerprint: schedule.fingerprint,
    peers: options.peers,
    events: schedule.events.length,
    blocks: world.ledger.blocks,
    bytes: world.bytes(),
    seconds: (Date.now() - started) / 1000,
    maxQueued,
    maxAmplification: hostileTraffic(world).reduce(
      (max, t) => Math.max(max, t.sent / Math.max(1, t.received)),
      0
    ),
    maxBoundShare: hostileTraffic(world).reduce(
      (max, t) => Math.max(max, t.sent / amplificationBound(t)),
      0
    ),
    moderation: moderated
      ? { ...world.tally, frames: world.wire.frames, spamFrames: world.wire.spamFrames }
      : null,
    violations
  }
}

async function bounded<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what} did not complete in ${ACTION_MS} ms`)),
      ACTION_MS
    )
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

function peerOf(event: SimEvent): number {
  return 'peer' in event ? event.peer : -1
}

export function describe(event: SimEvent): string {
  const { at: _, kind, ...rest } = event
  return `${kind} ${JSON.stringify(rest)}`
}
