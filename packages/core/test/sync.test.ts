import {
  type FeedInfo,
  Multifeed,
  type MultifeedPeer,
  ReplicationStream,
  type SyncInfo
} from '@multifeed/core'
import { describe, expect, it } from 'vitest'
import { next, onCleanup, pipe, tmpStore, until, untilConverged } from './helpers.js'
import { errorsOf, replicationOf } from './support.js'

async function open(key?: Buffer, options = {}): Promise<Multifeed> {
  const store = await tmpStore()
  const multi = await Multifeed.open(store, key, options)
  onCleanup(() => multi.close())
  return multi
}

describe('sync over a pipe', () => {
  it('two writers converge, blocks and all', async () => {
    const a = await open()
    const b = await open(a.key)
    const wa = await a.writer('main')
    await wa.append([Buffer.from('a0'), Buffer.from('a1')])
    const wb = await b.writer('main')
    await wb.append(Buffer.from('b0'))
    pipe(a, b)
    await untilConverged([a, b], 2)
    const fromA = await b.get(wa.key!)
    expect((await fromA.get(1))!.toString()).toBe('a1')
    await fromA.close()
    const fromB = await a.get(wb.key!)
    expect((await fromB.get(0))!.toString()).toBe('b0')
    await fromB.close()
  })

  it('an in-sync reconnect sends one open message each way and attaches no core', async () => {
    const a = await open()
    const b = await open(a.key)
    await (await a.writer()).append(Buffer.from('x'))
    await (await b.writer()).append(Buffer.from('y'))
    const first = pipe(a, b)
    await untilConverged([a, b], 2)
    await first.destroy()
    await until(() => a.peers().length === 0 && b.peers().length === 0, 'peers gone')
    const reconciled = Promise.all([
      next<[MultifeedPeer, SyncInfo]>(a, 'reconciled'),
      next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
    ])
    pipe(a, b)
    const [[pa, infoA], [pb, infoB]] = await reconciled
    expect(infoA.inSync).toBe(true)
    expect(infoB.inSync).toBe(true)
    expect(pa.stats.messagesSent).toBe(1)
    expect(pb.stats.messagesSent).toBe(1)
    expect(pa.stats.coresAttached).toBe(0)
    expect(pb.stats.coresAttached).toBe(0)
  })

  it('live: an append after reconciliation reaches the peer', async () => {
    const a = await open()
    const b = await open(a.key)
    const w = await a.writer()
    pipe(a, b)
    await untilConverged([a, b], 1)
    await w.append(Buffer.from('later'))
    await until(() => b.feed(w.key!)?.length === 1, 'b gets the append')
  })

  it('transitive: a feed and its blocks travel a → b → c', async () => {
    const a = await open()
    const b = await open(a.key)
    const c = await open(a.key)
    pipe(a, b)
    pipe(b, c)
    const w = await a.writer()
    await w.append([Buffer.from('1'), Buffer.from('2')])
    await untilConverged([a, b, c], 1)
    await w.append(Buffer.from('3'))
    await until(() => c.feed(w.key!)?.length === 3, 'c gets the third block through b')
  })
})

describe('pairing over links that batch frames', () => {
  it('pairs and reconciles when the handshake end and the tokens share one chunk', async () => {
    // A link that coalesces what was written within 5 ms into one chunk (TCP
    // does this under load): before the fix each side opened its channel
    // ahead of its own token, both opens were rejected and nothing paired.
    const a = await open()
    const b = await open(a.key)
    const s1 = a.replicate(true)
    const s2 = b.replicate(false)
    const relay = (from: typeof s1, to: typeof s1): void => {
      let queued: Buffer[] = []
      from.on('data', (chunk: Buffer) => {
        if (queued.length === 0) {
          setTimeout(() => {
            to.write(Buffer.concat(queued))
            queued = []
          }, 5)
        }
        queued.push(chunk)
      })
    }
    relay(s1, s2)
    relay(s2, s1)
    onCleanup(() => {
      s1.destroy()
      s2.destroy()
    })
    await Promise.all([next(a, 'reconciled'), next(b, 'reconciled')])
  })
})

describe('a change while the remote open travels', () => {
  // The remote's open reaches `a` after `a` announced its set and changed it
  // (two peers start together, one writes at once). Both sides must take the
  // same in-sync decision from the two opens; before the fix `a` compared its
  // set as it is now against the remote's proof, and `b` (in sync) either
  // never sent what `a` waited for, or rejected what `a` sent (a list from
  // empty sets, coded symbols otherwise): the new feed never reached b.
  for (const shared of [0, 1]) {
    for (const aInitiates of [true, false]) {
      const role = aInitiates ? 'initiator' : 'responder'
      it(`a new feed reaches the peer (a ${role}, ${shared === 0 ? 'no feed' : 'one feed'} in common)`, async () => {
        const a = await open()
        const b = await open(a.key)
        if (shared > 0) {
          const common = await a.writer('common')
          onCleanup(() => common.close())
          await common.append(Buffer.from('c'))
          const first = pipe(a, b)
          await untilConverged([a, b], 1)
          await first.destroy()
          await until(() => a.peers().length + b.peers().length === 0, 'peers gone')
        }
        const errors = [errorsOf(a), errorsOf(b)]
        const sa = ReplicationStream.for(a.corestore, aInitiates).stream
        const sb = ReplicationStream.for(b.corestore, !aInitiates).stream
        // b → a passes while `held` is null; meanwhile what b sends waits there.
        let held: Buffer[] | null = null
        sa.on('data', (chunk: Buffer) => sb.write(chunk))
        sb.on('data', (chunk: Buffer) => (held ? held.push(chunk) : sa.write(chunk)))
        sa.on('error', () => {})
        sb.on('error', () => {})
        onCleanup(() => {
          sa.destroy()
          sb.destroy()
        })
        await Promise.all([sa.noiseStream.opened, sb.noiseStream.opened])
        // b announces its token; a keeps it (no member of a on the stream yet).
        b.attach(sb)
        await until(() => replicationOf(sa).stats.tokensReceived === 1, "b's token reaches a")
        held = []
        // a pairs on b's token and opens (its set announced); b opens too
        // (held) and, in sync with a's open, is reconciled.
        const bReconciled = next<[MultifeedPeer, SyncInfo]>(b, 'reconciled')
        a.attach(sa)
        expect((await bReconciled)[1].inSync).toBe(true)
        const w = await a.writer('w')
        onCleanup(() => w.close())
        await w.append(Buffer.from('x'))
        const joined = next<[FeedInfo]>(b, 'feed', 5_000)
        for (const chunk of held.splice(0)) sa.write(chunk)
        held = null
        const [info] = await joined
        expect(info.key.equals(w.key!)).toBe(true)
        await until(() => b.feed(w.key!)?.length === 1, 'b learns the block count')
        expect(errors.flat()).toEqual([])
      })
    }
  }
})
