/**
 * Conformance cases on propagation: feeds and blocks reach the peers that
 * swarm a multifeed, live and whoever swarms first; peers find each other
 * whatever their timing or their announce/lookup roles; a late joiner
 * catches up.
 */
import assert from './assert.js'
import { BOTH_WAYS, type ConformanceCase, conformanceCase } from './context.js'
import { blockOf, infoOf } from './inspect.js'

/** The cases of this group (registered in the order `conformanceCases` gives). */
export const propagationCases: readonly ConformanceCase[] = [
  ...BOTH_WAYS.map(([w, r]) =>
    conformanceCase(`swarm: feeds and data propagate (${w} writes, ${r} reads)`, 2, async (ctx) => {
      const a = await ctx.open(w)
      const writer = await a.writer('main')
      await writer.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])
      const b = await ctx.open(r, a.key)
      await ctx.nets[w]!.swarm(a)
      await ctx.nets[r]!.swarm(b)
      await ctx.synced([a, b])
      assert.equal(b.feeds().length, 1, 'the reader holds exactly the one feed')
      assert.deepEqual(await blockOf(b, writer.key, 2), Buffer.from('c'))
      // Live: later appends and a feed created on the other side propagate too.
      await writer.append(Buffer.from('d'))
      const back = await b.writer('reply')
      await back.append(Buffer.from('r'))
      await ctx.synced([a, b])
      assert.equal(infoOf(b, writer.key).length, 4)
      assert.deepEqual(await blockOf(a, back.key, 0), Buffer.from('r'))
    })
  ),
  conformanceCase('two peers swarming at the same instant connect', 2, async (ctx) => {
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    await (await a.writer()).append(Buffer.from('a'))
    await (await b.writer()).append(Buffer.from('b'))
    await Promise.all([ctx.nets[0]!.swarm(a), ctx.nets[1]!.swarm(b)])
    await ctx.synced([a, b])
  }),
  conformanceCase('a lookup-only peer finds an announce-only peer', 2, async (ctx) => {
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    await (await a.writer()).append(Buffer.from('a'))
    await ctx.nets[0]!.swarm(a, { announce: true, lookup: false })
    await ctx.nets[1]!.swarm(b, { announce: false, lookup: true })
    await ctx.synced([a, b])
  }),
  conformanceCase('a late joiner catches up', 3, async (ctx) => {
    const a = await ctx.open(0)
    const b = await ctx.open(1, a.key)
    const wa = await a.writer()
    const wb = await b.writer()
    for (let i = 0; i < 10; i++) {
      await wa.append(Buffer.from(`a${i}`))
      await wb.append(Buffer.from(`b${i}`))
    }
    await ctx.nets[0]!.swarm(a)
    await ctx.nets[1]!.swarm(b)
    await ctx.synced([a, b])
    const c = await ctx.open(2, a.key)
    await ctx.nets[2]!.swarm(c)
    await ctx.synced([a, b, c])
    assert.equal(c.feeds().length, 2)
    assert.deepEqual(await blockOf(c, wb.key, 9), Buffer.from('b9'))
    const wc = await c.writer()
    await wc.append(Buffer.from('c0'))
    await ctx.synced([a, b, c])
  })
]
