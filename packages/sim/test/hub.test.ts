// SimHub's matching, recorded: which members it links, in which order, under a
// degree, a partition and its healing, a lost link (topped up) and a member that
// leaves. The trace was taken from SimHub before it was built on InProcessHub's
// matching hook (a refactor: the same calls must give the same links, so the
// same seeds give the same runs).
import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import type { EndMaker, LinkEnd } from '../src/world/LinkEnd.js'
import { SimHub } from '../src/world/SimHub.js'

function maker(peer: number): EndMaker {
  const publicKey = Buffer.alloc(32, peer + 1)
  return {
    publicKey,
    open(): LinkEnd {
      const raw = new PassThrough()
      const listeners: Array<() => void> = []
      let gone = false
      return {
        raw,
        onClose: (listener) => {
          if (gone) queueMicrotask(listener)
          else listeners.push(listener)
        },
        destroy: () => {
          if (gone) return
          gone = true
          raw.destroy()
          for (const listener of listeners.splice(0)) listener()
        },
        queued: () => 0
      }
    }
  }
}

const settle = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
}

/** The script: seven members, two topics, a partition healed, a link lost, a member gone. */
async function trace(degree: number): Promise<string[]> {
  const hub = new SimHub({ degree })
  const events: string[] = []
  hub.onLink = (link) => {
    events.push(`+${link.a}-${link.b}`)
    link.onClose(() => events.push(`-${link.a}-${link.b}`))
  }
  const live = () =>
    hub
      .links()
      .map((l) => `${l.a}-${l.b}`)
      .sort()
      .join(' ')
  const topic = Buffer.alloc(32, 0xaa)
  const other = Buffer.alloc(32, 0xbb)
  const members = []
  for (let peer = 0; peer < 7; peer++) {
    hub.name(maker(peer).publicKey, peer)
    members.push(hub.registerRemote(maker(peer)))
  }
  for (const [i, m] of members.entries()) {
    m.join(topic, { announce: true, lookup: i % 3 !== 2 })
  }
  events.push(`live ${live()}`)
  members[0]!.join(other, { announce: false, lookup: true })
  members[4]!.join(other, { announce: true, lookup: false })
  members[6]!.join(other, { announce: true, lookup: true })
  events.push(`live ${live()}`)
  hub.partition([0, 1, 2])
  await settle()
  events.push(`partitioned ${live()}`)
  hub.heal()
  await settle()
  events.push(`healed ${live()}`)
  hub.linkOf(0, hub.links()[0]!.b === 0 ? hub.links()[0]!.a : hub.links()[0]!.b)?.destroy()
  await settle()
  events.push(`topped up ${live()}`)
  members[5]!.leave(topic)
  await members[3]!.unregister()
  await settle()
  events.push(`after 3 left ${live()}`)
  expect(hub.connections).toBe(hub.links().length)
  for (const m of members) await m.unregister()
  expect(hub.connections).toBe(0)
  return events
}

/** Per degree, the trace SimHub gave before the refactor. */
const BEFORE: Array<[number, string, string]> = [
  [
    2,
    'degree 2',
    [
      '+1-0 +0-2 +1-2 +3-1 +3-0 +4-0 +4-2 +4-5 +1-5 +6-1 +6-3 live 0-2 1-0 1-2 1-5 3-0',
      '3-1 4-0 4-2 4-5 6-1 6-3 live 0-2 1-0 1-2 1-5 3-0 3-1 4-0 4-2 4-5 6-1 6-3 -3-1',
      '-3-0 -4-0 -4-2 -1-5 -6-1 +3-5 +4-6 partitioned 0-2 1-0 1-2 3-5 4-5 4-6 6-3',
      'healed 0-2 1-0 1-2 3-5 4-5 4-6 6-3 -1-0 +0-4 +1-3 topped up 0-2 0-4 1-2 1-3 3-5',
      '4-5 4-6 6-3 -6-3 -3-5 -1-3 +1-0 +6-1 after 3 left 0-2 0-4 1-0 1-2 4-5 4-6 6-1',
      '-0-2 -0-4 -1-0 +4-2 -1-2 -6-1 +6-2 -4-2 -6-2 -4-5 -4-6'
    ].join(' ')
  ],
  [
    0,
    'degree 0: every pair',
    [
      '+1-0 +0-2 +1-2 +3-1 +3-0 +3-2 +4-0 +4-2 +4-1 +4-3 +4-5 +1-5 +3-5 +0-5 +6-1 +6-3',
      '+6-5 +6-0 +6-2 +6-4 live 0-2 0-5 1-0 1-2 1-5 3-0 3-1 3-2 3-5 4-0 4-1 4-2 4-3 4-5',
      '6-0 6-1 6-2 6-3 6-4 6-5 live 0-2 0-5 1-0 1-2 1-5 3-0 3-1 3-2 3-5 4-0 4-1 4-2 4-3',
      '4-5 6-0 6-1 6-2 6-3 6-4 6-5 -3-1 -3-0 -3-2 -4-0 -4-2 -4-1 -1-5 -0-5 -6-1 -6-0',
      '-6-2 partitioned 0-2 1-0 1-2 3-5 4-3 4-5 6-3 6-4 6-5 +0-4 +0-6 +0-3 +0-5 +1-3',
      '+1-5 +1-4 +1-6 +4-2 +6-2 +3-2 healed 0-2 0-3 0-4 0-5 0-6 1-0 1-2 1-3 1-4 1-5 1-6',
      '3-2 3-5 4-2 4-3 4-5 6-2 6-3 6-4 6-5 -1-0 topped up 0-2 0-3 0-4 0-5 0-6 1-2 1-3',
      '1-4 1-5 1-6 3-2 3-5 4-2 4-3 4-5 6-2 6-3 6-4 6-5 -4-3 -3-5 -6-3 -0-3 -1-3 -3-2',
      'after 3 left 0-2 0-4 0-5 0-6 1-2 1-4 1-5 1-6 4-2 4-5 6-2 6-4 6-5 -0-2 -0-4 -0-6',
      '-0-5 -1-2 -1-5 -1-4 -1-6 -4-2 -6-2 -4-5 -6-4 -6-5'
    ].join(' ')
  ]
]

describe('SimHub matching', () => {
  for (const [degree, what, expected] of BEFORE) {
    it(`links the same members in the same order as before the refactor (${what})`, async () => {
      expect((await trace(degree)).join(' ')).toBe(expected)
    })
  }
})
