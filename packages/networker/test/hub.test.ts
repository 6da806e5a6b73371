// InProcessHub keeps the members, their topics and one link per pair; whom a
// member meets is its matching hook, which a subclass may override (the mesh
// simulator's hub does: a degree, partitions, links through its own pipes).
import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'
import { describe, expect, test } from 'vitest'
import { type HubEndpoint, type HubMember, InProcessHub, type TopicOptions } from '../src/index.js'

/** Meets only the first member that joined the topic before it. */
class FirstOnlyHub extends InProcessHub {
  protected override match(member: HubMember, topic: string, options: TopicOptions): void {
    for (const other of this.members()) {
      const theirs = other === member ? undefined : other.topics.get(topic)
      if (theirs === undefined) continue
      this.meet(member, options, other, theirs)
      return
    }
  }
}

function endpoint(): HubEndpoint & { streams: Connection[] } {
  const streams: Connection[] = []
  return {
    keyPair: NoiseSecretStream.keyPair(),
    streams,
    onConnection: (stream) => {
      stream.on('error', () => {})
      streams.push(stream)
    }
  }
}

describe('InProcessHub', () => {
  test('a subclass decides whom a member meets; the hub keeps one link per pair and unregisters', async () => {
    const topic = Buffer.alloc(32, 1)
    const run = async (hub: InProcessHub) => {
      const ends = [endpoint(), endpoint(), endpoint(), endpoint()]
      const memberships = ends.map((e) => hub.register(e))
      for (const m of memberships) m.join(topic, { announce: true, lookup: true })
      const counts = ends.map((e) => e.streams.length)
      const connections = hub.connections
      await Promise.all(memberships.map((m) => m.unregister()))
      return { counts, connections, after: hub.connections }
    }
    // the default: every pair of the topic
    expect(await run(new InProcessHub())).toEqual({
      counts: [3, 3, 3, 3],
      connections: 6,
      after: 0
    })
    // the hook: each later member meets the first one only
    expect(await run(new FirstOnlyHub())).toEqual({
      counts: [3, 1, 1, 1],
      connections: 3,
      after: 0
    })
  })
})
