// The checkers have teeth: each one, fed a state that breaks its invariant,
// reports it (and stays silent on the same state without the fault), so a
// simulator run with zero violations means something.
import { once } from 'node:events'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import { AMPLIFICATION_CONNECTION_BYTES, amplificationBound } from '@multifeed/core'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'
import { describe, expect, it } from 'vitest'
import { checkAmplification } from '../src/checks/amplification.js'
import { checkConfidentiality } from '../src/checks/confidentiality.js'
import { checkConvergence } from '../src/checks/convergence.js'
import { checkDownloads } from '../src/checks/downloads.js'
import { checkDuplicates } from '../src/checks/duplicates.js'
import { checkPeerErrors } from '../src/checks/peerErrors.js'
import { ProcessWatch } from '../src/checks/processHealth.js'
import { checkQueued, QUEUE_BOUND } from '../src/checks/queued.js'
import { Ledger } from '../src/ledger.js'
import { Link } from '../src/world/Link.js'
import { queuedIn } from '../src/world/queued.js'
import type { LinkEnd } from '../src/world/SimHub.js'
import type { FeedView, PeerSnapshot } from '../src/world/snapshot.js'

const A = 'aa'.repeat(32)
const B = 'bb'.repeat(32)

function snap(index: number, sets: Record<number, FeedView[]>, extra: Partial<PeerSnapshot> = {}) {
  return { index, online: true, sets, stored: [], received: {}, ...extra } satisfies PeerSnapshot
}

describe('checkers', () => {
  it('no feed listed twice: a peer listing a key twice is caught', () => {
    const fine = snap(0, {
      0: [
        { key: A, length: 1 },
        { key: B, length: 1 }
      ]
    })
    const twice = snap(1, {
      0: [
        { key: A, length: 1 },
        { key: A, length: 1 }
      ]
    })
    expect(checkDuplicates([fine])).toEqual([])
    const found = checkDuplicates([fine, twice])
    expect(found).toHaveLength(1)
    expect(found[0]!.peer).toBe(1)
  })

  it('convergence: a missing feed, a short one and a disagreement are caught', () => {
    const ledger = new Ledger(1)
    ledger.wrote(0, A, 5, 5)
    const members = () => [0, 1, 2]
    const good = snap(0, { 0: [{ key: A, length: 5 }] })
    expect(
      checkConvergence([good, snap(1, good.sets), snap(2, good.sets)], ledger, members)
    ).toEqual([])
    const found = checkConvergence(
      [
        good,
        snap(1, { 0: [{ key: A, length: 3 }] }),
        snap(2, {
          0: [
            { key: A, length: 5 },
            { key: B, length: 0 }
          ]
        })
      ],
      ledger,
      members
    )
    expect(found.map((f) => f.peer)).toEqual([1, 2])
    expect(checkConvergence([good], ledger, members).map((f) => f.peer)).toEqual([1, 2])
    // A feed the members removed: listing it is a violation, not listing it is fine.
    ledger.removed(0, A)
    expect(checkConvergence([good], ledger, () => [0])).toHaveLength(1)
    expect(checkConvergence([snap(0, { 0: [] })], ledger, () => [0])).toEqual([])
  })

  it('convergence: a removed feed still listed is caught, and says whether the peer blocks it', () => {
    const ledger = new Ledger(1)
    ledger.wrote(0, A, 5, 5)
    ledger.wrote(0, B, 2, 2)
    ledger.removed(0, A)
    const members = () => [0, 1, 2]
    const listsA = {
      0: [
        { key: A, length: 5 },
        { key: B, length: 2 }
      ]
    }
    const found = checkConvergence(
      [
        // The library's own contradiction: a key blocked and listed.
        snap(0, listsA, { blocked: { 0: [A] } }),
        // A removal that never reached the peer.
        snap(1, listsA, { blocked: { 0: [] } }),
        snap(2, { 0: [{ key: B, length: 2 }] }, { blocked: { 0: [A] } })
      ],
      ledger,
      members
    )
    expect(found.map((f) => f.peer)).toEqual([0, 1])
    expect(found[0]!.detail).toContain(
      `${A.slice(0, 8)}… listed although removed (blocked here too)`
    )
    expect(found[1]!.detail).toContain(
      `${A.slice(0, 8)}… listed although removed (not blocked here)`
    )
  })

  it('confidentiality: a foreign feed listed or stored, or a message to a forger, is caught', () => {
    const ledger = new Ledger(2)
    ledger.wrote(1, B, 2, 2)
    const isMember = (peer: number, set: number) => set === 0 || peer === 9
    const dk = (key: string) => `dk-${key}`
    expect(checkConfidentiality([snap(0, { 0: [] })], ledger, isMember, dk, [])).toEqual([])
    const listed = snap(0, { 0: [{ key: B, length: 2 }] })
    const stored = snap(1, { 0: [] }, { stored: [dk(B)] })
    const found = checkConfidentiality([listed, stored], ledger, isMember, dk, [
      { peer: 5, set: 1, mode: 'forger', received: 1, byType: [1, 0, 0], strangerOpens: 0 }
    ])
    expect(found.map((f) => f.peer)).toEqual([0, 1, 5])
  })

  it('amplification: more than the bound per hostile byte is caught', () => {
    const ok = {
      honest: 0,
      hostile: 3,
      sent: AMPLIFICATION_CONNECTION_BYTES,
      received: 0,
      sets: []
    }
    expect(checkAmplification([ok])).toEqual([])
    expect(checkAmplification([{ ...ok, sent: ok.sent + 1 }])).toHaveLength(1)
    // A key holder of two sets of 50 and 2,000 feeds: their first syncs (lists) are allowed once.
    const member = { ...ok, received: 600, sets: [50, 2000] }
    const allowed = amplificationBound(member)
    expect(allowed).toBeGreaterThan(AMPLIFICATION_CONNECTION_BYTES + 41 * 2050)
    expect(checkAmplification([{ ...member, sent: allowed }])).toEqual([])
    expect(checkAmplification([{ ...member, sent: allowed + 1 }])).toHaveLength(1)
    const flood = { honest: 0, hostile: 3, sent: 40 * 1024 * 1024, received: 5200, sets: [50] }
    expect(checkAmplification([flood])).toHaveLength(1)
  })

  it('downloads: blocks received beyond what the feeds grew by are caught', () => {
    const before = [snap(0, { 0: [{ key: A, length: 10 }] }, { received: { 0: 10 } })]
    const once = [snap(0, { 0: [{ key: A, length: 20 }] }, { received: { 0: 20 } })]
    const twice = [snap(0, { 0: [{ key: A, length: 20 }] }, { received: { 0: 25 } })]
    expect(checkDownloads(before, once)).toEqual([])
    expect(checkDownloads(before, twice)).toHaveLength(1)
  })

  it('peer errors: only those on an honest peer count', () => {
    const reports = [
      { peer: 0, remote: A, code: 'ERR_MALFORMED_MESSAGE', message: 'x' },
      { peer: 0, remote: B, code: 'ERR_MALFORMED_MESSAGE', message: 'y' }
    ]
    const found = checkPeerErrors(reports, (key) => key === A)
    expect(found).toHaveLength(1)
    expect(found[0]!.detail).toContain('x')
  })

  it('process health: a process warning is caught', async () => {
    const watch = new ProcessWatch()
    watch.start()
    try {
      const seen = once(process, 'warning')
      process.emitWarning('injected by the test', 'SimTestWarning')
      await seen
      const found = watch.take()
      expect(found).toHaveLength(1)
      expect(found[0]!.detail).toContain('injected by the test')
      expect(watch.take()).toEqual([])
    } finally {
      watch.stop()
    }
  })

  it('queued: what a sender holds for a peer that does not read is measured and caught', async () => {
    // Two Noise streams over a simulated link whose b side stops reading.
    const a: Connection = new NoiseSecretStream(true, null)
    const b: Connection = new NoiseSecretStream(false, null)
    const end = (s: Connection): LinkEnd => ({
      raw: s.rawStream,
      onClose: (l) => s.once('close', l),
      destroy: () => s.destroy(),
      queued: () => queuedIn(s)
    })
    const link = new Link(0, 1, end(a), end(b))
    try {
      await a.opened
      await b.opened
      link.from(0).reading = false
      const chunk = Buffer.alloc(64 * 1024)
      let written = 0
      while (written <= QUEUE_BOUND + 1024 * 1024) {
        a.write(chunk)
        written += chunk.byteLength
      }
      const queued = () => link.end(0).queued() + link.from(0).held
      expect(queued()).toBeGreaterThan(QUEUE_BOUND)
      expect(checkQueued([{ sender: 0, reader: 1, queued: queued() }])).toHaveLength(1)
      // Reading again drains it: the measure follows what is held.
      const drained = new Promise<void>((resolve) => {
        let got = 0
        b.on('data', (data: Buffer) => {
          got += data.byteLength
          if (got >= written) resolve()
        })
      })
      link.from(0).reading = true
      await drained
      expect(queued()).toBeLessThan(QUEUE_BOUND)
    } finally {
      link.destroy()
    }
  })
})
