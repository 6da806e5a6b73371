/**
 * Conformance cases on `swarm()` and `leave()`: swarming twice is a no-op,
 * leave stops one multifeed and no other, swarming again resumes, leaving
 * what is not swarmed is a no-op; a multifeed of another corestore is
 * refused, one on a session of the networker's corestore accepted.
 */
import assert from './assert.js'
import { BOTH_WAYS, type ConformanceCase, conformanceCase } from './context.js'
import { codeOf, infoOf, peerCounts } from './inspect.js'

/** The cases of this group (registered in the order `conformanceCases` gives). */
export const swarmingCases: readonly ConformanceCase[] = [
  conformanceCase('swarm twice is a no-op', 2, async (ctx) => {
    const a = await ctx.open(0)
    const w = await a.writer()
    await w.append(Buffer.from('x'))
    const b = await ctx.open(1, a.key)
    await Promise.all([ctx.nets[0]!.swarm(a), ctx.nets[0]!.swarm(a)])
    await ctx.nets[0]!.swarm(a)
    assert.equal(ctx.nets[0]!.multifeeds().length, 1, 'one multifeed swarmed after three calls')
    await ctx.nets[1]!.swarm(b)
    await ctx.nets[1]!.swarm(b)
    assert.equal(ctx.nets[1]!.multifeeds().length, 1)
    await ctx.synced([a, b])
    await ctx.until(
      () => ctx.nets[0]!.peers().length === 1 && ctx.nets[1]!.peers().length === 1,
      () => `one peer each, have ${peerCounts(ctx.nets)}`
    )
    await w.append(Buffer.from('y'))
    // Messages each way after the extra swarm() calls were processed: still one peer.
    await ctx.roundTrip([a, b])
    assert.equal(ctx.nets[0]!.peers().length, 1, 'still one peer')
  }),
  ...BOTH_WAYS.map(([l, o]) =>
    conformanceCase(
      `leave stops propagation for that multifeed only (${l} leaves)`,
      2,
      async (ctx) => {
        const x0 = await ctx.open(l)
        const y0 = await ctx.open(l)
        const x1 = await ctx.open(o, x0.key)
        const y1 = await ctx.open(o, y0.key)
        const lx = await x0.writer()
        const ly = await y0.writer()
        const ox = await x1.writer()
        await lx.append(Buffer.from('x0'))
        await ly.append(Buffer.from('y0'))
        await ox.append(Buffer.from('o0'))
        for (const [net, multis] of [
          [ctx.nets[l]!, [x0, y0]],
          [ctx.nets[o]!, [x1, y1]]
        ] as const) {
          for (const m of multis) await net.swarm(m)
        }
        await ctx.synced([x0, x1])
        await ctx.synced([y0, y1])

        await ctx.nets[l]!.leave(x0)
        assert.ok(!ctx.nets[l]!.multifeeds().includes(x0), 'left multifeed no longer listed')
        assert.ok(ctx.nets[l]!.multifeeds().includes(y0), 'other multifeed still listed')
        await ctx.until(() => {
          const peer = ctx.nets[o]!.peers()[0]
          return (
            peer !== undefined && !peer.multifeeds().includes(x1) && peer.multifeeds().includes(y1)
          )
        }, 'the other side sees the peer share only the multifeed that was not left')

        await lx.append(Buffer.from('x1'))
        await ox.append(Buffer.from('o1'))
        const lateX = await x0.writer('late')
        await lateX.append(Buffer.from('late'))
        await ly.append(Buffer.from('y1'))
        // The other multifeed carried messages each way after those appends, on the same
        // connection: had anything of x travelled, it would have been processed by now.
        await ctx.roundTrip([y0, y1])
        assert.equal(
          infoOf(x1, lx.key).length,
          1,
          'append after leave did not reach the other peer'
        )
        assert.equal(
          infoOf(x0, ox.key).length,
          1,
          "the other peer's append did not reach the leaver"
        )
        assert.equal(x1.feed(lateX.key!), null, 'a feed created after leave was not offered')
        assert.equal(infoOf(y1, ly.key).length, 2, 'the other multifeed still propagates')
      }
    )
  ),
  conformanceCase('swarm after leave resumes', 2, async (ctx) => {
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    const w = await a.writer()
    await w.append(Buffer.from('1'))
    await ctx.nets[0]!.swarm(a)
    await ctx.nets[1]!.swarm(b)
    await ctx.synced([a, b])
    await ctx.nets[0]!.leave(a)
    await w.append(Buffer.from('2'))
    const later = await a.writer('later')
    await later.append(Buffer.from('3'))
    await ctx.nets[0]!.swarm(a)
    await ctx.synced([a, b])
    assert.equal(b.feeds().length, 2)
  }),
  conformanceCase(
    'a multifeed of another corestore is refused with ERR_FOREIGN_CORESTORE',
    2,
    async (ctx) => {
      const foreign = await ctx.open(1)
      await assert.rejects(ctx.nets[0]!.swarm(foreign), (err: unknown) => {
        assert.equal(codeOf(err), 'ERR_FOREIGN_CORESTORE', `got ${String(err)}`)
        return true
      })
      assert.ok(!ctx.nets[0]!.multifeeds().includes(foreign), 'the refused multifeed is not listed')
    }
  ),
  conformanceCase('a multifeed on a session of the same corestore is accepted', 2, async (ctx) => {
    const a = await ctx.open(0, undefined, ctx.stores[0]!.namespace('conformance-session'))
    const b = await ctx.open(1, a.key)
    await (await a.writer()).append(Buffer.from('s'))
    await ctx.nets[0]!.swarm(a)
    await ctx.nets[1]!.swarm(b)
    await ctx.synced([a, b])
  }),
  conformanceCase('leave() of a multifeed that is not swarmed is a no-op', 2, async (ctx) => {
    const a = await ctx.open(0)
    await ctx.nets[0]!.leave(a)
    await ctx.nets[0]!.swarm(a)
    await ctx.nets[0]!.leave(a)
    await ctx.nets[0]!.leave(a)
    assert.deepEqual(ctx.nets[0]!.multifeeds(), [])
  })
]
