import { waitUntil } from '@multifeed/testing'
import { describe, expect, it } from 'vitest'
import { Reporter } from '../src/mirror/Reporter.js'
import { type SetSnapshot, statusLine } from '../src/mirror/SetState.js'

const A = 'a'.repeat(52)
const B = 'b'.repeat(52)

function set(key: string, overrides: Partial<SetSnapshot> = {}): SetSnapshot {
  return {
    key,
    peers: 1,
    feeds: 2,
    blocks: 10,
    left: 0,
    received: 0,
    sent: 0,
    state: 'in-sync',
    ...overrides
  }
}

/** An output that records what is written; a TTY or not. */
function output(isTTY: boolean, columns?: number) {
  const writes: string[] = []
  return { writes, out: { isTTY, columns, write: (text: string) => writes.push(text) } }
}

describe('the status line', () => {
  it('says sets, peers, feeds, blocks, bytes, and what is still syncing', () => {
    expect(statusLine([set(A, { received: 2048, sent: 3 * 1024 * 1024 })], 1)).toBe(
      '1 set · 1 peer · 2 feeds · 10 blocks · ↓ 2.0 KiB ↑ 3.0 MiB · all in sync'
    )
    const syncing = [
      set(A, { state: 'syncing', left: 5 }),
      set(B, { state: 'alone', peers: 0 }),
      ...['c', 'd', 'e'].map((c) => set(c.repeat(52), { state: 'syncing', left: 1 }))
    ]
    expect(statusLine(syncing, 3)).toBe(
      '5 sets · 3 peers · 10 feeds · 50 blocks · ↓ 0 B ↑ 0 B · syncing aaaaaaaa (5 left), cccccccc (1 left), dddddddd (1 left) and 1 more'
    )
  })
})

describe('Reporter', () => {
  it('on a TTY: one status line rewritten in place, log lines above it, cut to the width', async () => {
    const { writes, out } = output(true, 40)
    let sets = [set(A, { state: 'syncing', left: 4 })]
    // (no heartbeat redraw within the test)
    const reporter = new Reporter(out, () => ({ sets, peers: 1 }), 3_600_000)
    try {
      reporter.log('mirroring A')
      expect(writes).toEqual(['mirroring A\n', '\r\x1b[K1 set · 1 peer · 2 feeds · 10 blocks ·…'])
      // a change redraws (at most every 200 ms): wait for the redraw, a positive signal
      sets = [set(A, { feeds: 3 })]
      reporter.changed(sets[0]!)
      await waitUntil(() => writes.length === 3, { timeout: 5_000, message: 'the redraw' })
      expect(writes[2]).toBe('\r\x1b[K1 set · 1 peer · 3 feeds · 10 blocks ·…')
      // a log line clears the status line first, then draws it again below
      reporter.log('peer connected')
      expect(writes.slice(3)).toEqual([
        '\r\x1b[Kpeer connected\n',
        '\r\x1b[K1 set · 1 peer · 3 feeds · 10 blocks ·…'
      ])
    } finally {
      reporter.close()
    }
    expect(writes.at(-1)).toBe('\n')
  })

  it('otherwise: plain lines, a set when it starts syncing (then at most once a second) and when it is in sync', () => {
    const { writes, out } = output(false)
    const reporter = new Reporter(out, () => ({ sets: [], peers: 0 }))
    reporter.log('mirroring A')
    reporter.changed(set(A, { state: 'alone', peers: 0 }), 0)
    reporter.changed(set(A, { state: 'syncing', blocks: 0, left: 10 }), 0)
    reporter.changed(set(A, { state: 'syncing', blocks: 5, left: 5 }), 500)
    reporter.changed(set(A, { state: 'syncing', blocks: 8, left: 2 }), 1000)
    reporter.changed(set(A, { state: 'in-sync' }), 1100)
    reporter.changed(set(A, { state: 'in-sync' }), 1200)
    reporter.changed(set(A, { state: 'in-sync', blocks: 11 }), 1300)
    reporter.close()
    expect(writes).toEqual([
      'mirroring A\n',
      `${A} syncing: 0 blocks held, 10 left (1 peer)\n`,
      `${A} syncing: 8 blocks held, 2 left (1 peer)\n`,
      `${A} in sync: 2 feeds, 10 blocks (1 peer)\n`,
      `${A} in sync: 2 feeds, 11 blocks (1 peer)\n`
    ])
  })
})
