/**
 * Strict options: every public call that takes options rejects a key it does
 * not know, nested ones too, and a value of the wrong type, with
 * ERR_INVALID_ARGUMENT naming the option and the accepted ones; an append
 * the set's encoding cannot encode names that encoding.
 */
import { Multifeed } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { describe, expect, it } from 'vitest'
import { tmpStore } from './helpers.js'
import { open } from './support.js'

/** Calls `fn` (which may throw or reject) and returns the error. */
async function failure(fn: () => unknown): Promise<{ code?: string; message: string }> {
  try {
    await fn()
  } catch (err) {
    return err as { code?: string; message: string }
  }
  throw new Error('expected a failure, the call succeeded')
}

const invalid = (...named: string[]) =>
  expect.objectContaining({
    code: 'ERR_INVALID_ARGUMENT',
    message: expect.stringMatching(new RegExp(named.join('.*')))
  })

const unencodable = (...named: string[]) =>
  expect.objectContaining({
    code: 'ERR_ENCODING',
    message: expect.stringMatching(new RegExp(named.join('.*')))
  })

describe('strict options', () => {
  it('open() rejects an unknown option, naming it and the accepted ones', async () => {
    const store = await tmpStore()
    const err = await failure(() => Multifeed.open(store, null, { valueEncodng: 'json' } as never))
    expect(err).toEqual(invalid("'valueEncodng'", 'valueEncoding', 'policy', 'limits', 'sparse'))
  })

  it('open() checks nested option objects: limits and policy', async () => {
    const store = await tmpStore()
    expect(
      await failure(() => Multifeed.open(store, null, { limits: { maxFeed: 5 } } as never))
    ).toEqual(invalid("'limits.maxFeed'", 'in limits', 'maxFeeds', 'maxDifferences', 'maxRecords'))
    expect(
      await failure(() => Multifeed.open(store, null, { policy: { acept: () => true } } as never))
    ).toEqual(invalid("'policy.acept'", 'accept', 'share'))
    expect(await failure(() => Multifeed.open(store, null, { limits: 5 } as never))).toEqual(
      invalid('limits must be an object')
    )
  })

  it('open() rejects a sparse that is not a boolean', async () => {
    const store = await tmpStore()
    expect(await failure(() => Multifeed.open(store, null, { sparse: 'yes' } as never))).toEqual(
      invalid('sparse must be a boolean')
    )
    // The store is not left with anything open: the valid call works.
    const multi = await open(store, null, { sparse: true })
    expect(multi.opened).toBe(true)
  })

  it('writer() refuses a valueEncoding of its own (the set has one), naming the set’s', async () => {
    const multi = await open(null, null, { valueEncoding: 'json' } as never)
    expect(await failure(() => multi.writer('w', { valueEncoding: 'utf-8' } as never))).toEqual(
      invalid('valueEncoding', "'json'")
    )
    expect(await failure(() => multi.writer('w', { keypair: crypto.keyPair() } as never))).toEqual(
      invalid("'keypair'", 'keyPair')
    )
    expect(
      await failure(() => multi.writer('w', { keyPair: { publicKey: 'x' } } as never))
    ).toEqual(invalid('keyPair must be'))
    // Nothing was created by the refused calls.
    expect(multi.feeds()).toEqual([])
  })

  it('synced(), downloaded(), read() and remove() reject unknown options and wrong types', async () => {
    const multi = await open()
    const w = await multi.writer('w')
    await w.append(Buffer.from('x'))
    const key = w.key!
    await w.close()
    expect(await failure(() => multi.synced({ timeot: 10 } as never))).toEqual(
      invalid("'timeot'", 'peer', 'timeout', 'signal')
    )
    expect(await failure(() => multi.synced({ timeout: '10' } as never))).toEqual(
      invalid('timeout must be')
    )
    expect(await failure(() => multi.synced({ peer: {} } as never))).toEqual(
      invalid('peer must be a peer of this multifeed')
    )
    expect(await failure(() => multi.downloaded({ peer: undefined } as never))).toEqual(
      invalid("'peer'", 'timeout', 'signal')
    )
    expect(await failure(() => multi.downloaded({ signal: 'stop' } as never))).toEqual(
      invalid('signal must be an AbortSignal')
    )
    expect(await failure(() => multi.read({ lve: true } as never))).toEqual(
      invalid("'lve'", 'live', 'since', 'signal')
    )
    expect(await failure(() => multi.read({ live: 1 } as never))).toEqual(
      invalid('live must be a boolean')
    )
    expect(await failure(() => multi.read({ since: { [key.toString('hex')]: -1 } }))).toEqual(
      invalid('since maps a feed to the next block')
    )
    expect(await failure(() => multi.read({ since: { [key.toString('base64')]: 1 } }))).toEqual(
      invalid('since is keyed by')
    )
    expect(await failure(() => multi.remove(key, { forse: true } as never))).toEqual(
      invalid("'forse'", 'block', 'force')
    )
    expect(await failure(() => multi.remove(key, { force: 'yes' } as never))).toEqual(
      invalid('force must be a boolean')
    )
    // None of them did anything: the writer is still in the set.
    expect(multi.feed(key)?.length).toBe(1)
  })

  it('get(), add() and replicate() take no options: more arguments reject, naming the call', async () => {
    const multi = await open()
    const w = await multi.writer('w')
    const key = w.key!
    await w.close()
    // As a JavaScript caller would: TypeScript refuses the extra argument already.
    const loose = multi as unknown as Record<
      'get' | 'add' | 'replicate',
      (...a: unknown[]) => unknown
    >
    expect(await failure(() => loose.get(key, { valueEncoding: 'json' }))).toEqual(
      invalid('get\\(\\) takes no options')
    )
    expect(await failure(() => loose.add(crypto.randomBytes(32), { force: true }))).toEqual(
      invalid('add\\(\\) takes no options')
    )
    expect(await failure(() => loose.replicate(true, { live: true }))).toEqual(
      invalid('replicate\\(\\) takes no options')
    )
    // Nothing was added, and the one-argument calls work.
    expect(multi.feeds()).toHaveLength(1)
    const session = await multi.get(key)
    await session.close()
  })

  it('valid options still work (a resumed read, a bounded synced)', async () => {
    const multi = await open()
    const w = await multi.writer('w')
    await w.append([Buffer.from('a'), Buffer.from('b')])
    const since = new Map([[w.key!.toString('hex'), 1]])
    const seen: string[] = []
    for await (const { value } of multi.read({ since, live: false })) seen.push(String(value))
    expect(seen).toEqual(['b'])
    await multi.synced({ timeout: 1000, signal: new AbortController().signal })
    await w.close()
  })
})

describe('append in a set of one encoding', () => {
  it("utf-8: append(123) rejects with ERR_ENCODING naming 'utf-8'", async () => {
    const multi = await open(null, null, { valueEncoding: 'utf-8' } as never)
    const w = await multi.writer('w')
    const err = (await failure(() => w.append(123 as never))) as Error
    expect(err).toEqual(unencodable("'utf-8'", 'number \\(123\\), not a string'))
    expect(err).toBeInstanceOf(Error)
    expect(err).toMatchObject({ seq: 0, key: w.key })
    expect((err as Error & { cause?: unknown }).cause).toBeInstanceOf(TypeError)
    expect(w.length).toBe(0)
    await w.append('ok' as never)
    expect(w.length).toBe(1)
    await w.close()
  })

  it("json: undefined, a BigInt and a circular object reject naming 'json'; the rest of a batch is not appended", async () => {
    const multi = await open(null, null, { valueEncoding: 'json' } as never)
    const w = await multi.writer('w')
    const circular: Record<string, unknown> = {}
    circular.self = circular
    expect(await failure(() => w.append(undefined as never))).toEqual(
      unencodable("'json'", 'undefined, which JSON cannot encode')
    )
    expect(await failure(() => w.append(10n as never))).toEqual(
      unencodable("'json'", 'not JSON', 'BigInt')
    )
    expect(await failure(() => w.append([{ ok: 1 }, circular] as never))).toEqual(
      unencodable("'json'", 'value 1 of the batch', 'circular')
    )
    expect(w.length).toBe(0)
    await w.append({ ok: 1 } as never)
    expect(await w.get(0)).toEqual({ ok: 1 })
    await w.close()
  })

  it("binary: append(42) rejects naming 'binary'; hypercore's own errors go through unchanged", async () => {
    const multi = await open()
    const w = await multi.writer('w')
    expect(await failure(() => w.append(42 as never))).toEqual(
      unencodable("'binary'", 'not a Buffer or a string')
    )
    const key = w.key!
    await w.close()
    const reader = await multi.get(key)
    await reader.close()
    // A closed session: hypercore's SESSION_CLOSED, not ours.
    const closedErr = await failure(() => reader.append(42 as never))
    expect(closedErr.code).toBe('SESSION_CLOSED')
  })
})
