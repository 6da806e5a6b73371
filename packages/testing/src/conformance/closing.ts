/**
 * Conformance cases on closing: a swarmed multifeed that closes leaves the
 * networker on both sides (the connection and other multifeeds live on);
 * `close()` is idempotent and `swarm()` after it rejects with ERR_CLOSED.
 */
import assert from './assert.js'
import { type ConformanceCase, conformanceCase } from './context.js'
import { codeOf } from './inspect.js'

/** The cases of this group (registered in the order `conformanceCases` gives). */
export const closingCases: readonly ConformanceCase[] = [
  conformanceCase('a swarmed multifeed that closes is dropped on both sides', 2, async (ctx) => {
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    const keep0 = await ctx.open(0)
    const keep1 = await ctx.open(1, keep0.key)
    await (await a.writer()).append(Buffer.from('a'))
    for (const [net, multi] of [
      [0, a],
      [0, keep0],
      [1, b],
      [1, keep1]
    ] as const) {
      await ctx.nets[net]!.swarm(multi)
    }
    await ctx.synced([a, b])
    await b.close()
    await ctx.until(
      () =>
        !ctx.nets[1]!.multifeeds().includes(b) &&
        ctx.nets[0]!.peers().length === 1 &&
        !ctx.nets[0]!.peers()[0]!.multifeeds().includes(a) &&
        ctx.nets[0]!.peers()[0]!.multifeeds().includes(keep0),
      'the closed multifeed leaves multifeeds() and the peer view; the connection stays'
    )
    await assert.rejects(ctx.nets[1]!.swarm(b), (err: unknown) => {
      assert.equal(codeOf(err), 'ERR_CLOSED', `got ${String(err)}`)
      return true
    })
    await (await keep0.writer()).append(Buffer.from('still'))
    await ctx.synced([keep0, keep1])
  }),
  conformanceCase(
    'close is idempotent and swarm after close rejects with ERR_CLOSED',
    2,
    async (ctx) => {
      const a = await ctx.open(0)
      await ctx.nets[0]!.swarm(a)
      const net = ctx.nets[0]!
      await Promise.all([net.close(), net.close()])
      await net.close()
      assert.equal(net.closed, true)
      const b = await ctx.open(0)
      await assert.rejects(net.swarm(b), (err: unknown) => {
        assert.equal(codeOf(err), 'ERR_CLOSED', `got ${String(err)}`)
        return true
      })
    }
  )
]
