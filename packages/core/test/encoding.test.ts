/**
 * The set's value encoding at both ends (issue 13, point 6): `append()` of a
 * value the encoding would not read back rejects with ERR_ENCODING, and a
 * block that does not decode (written by a member's own code) is reported by
 * `read()` with its feed and index, on every peer, without ending the read.
 */
import {
  EncodingError,
  type Multifeed,
  Multifeed as MultifeedClass,
  type ReadEntry
} from '@multifeed/core'
import type { Encoding, Hypercore } from '@multifeed/holepunch-types'
import { describe, expect, it } from 'vitest'
import { onCleanup, pipe, tmpStore, untilConverged } from './helpers.js'

async function open<T = unknown>(key?: Buffer | null, options = {}): Promise<Multifeed<T>> {
  const multi = (await MultifeedClass.open(await tmpStore(), key, options)) as Multifeed<T>
  onCleanup(() => multi.close())
  return multi
}

async function writer<T>(multi: Multifeed<T>, name = 'w'): Promise<Hypercore<T>> {
  const w = await multi.writer(name)
  onCleanup(() => w.close())
  return w
}

/**
 * What a member's own code can do: write raw bytes through a binary session
 * of its core opened from the corestore itself (the store is the user's; the
 * sessions the multifeed hands out, and theirs, refuse it).
 */
async function appendRaw(
  multi: Multifeed<unknown>,
  w: Hypercore<unknown>,
  bytes: Buffer
): Promise<void> {
  const raw = multi.corestore.get<Buffer>({ key: w.key!, valueEncoding: 'binary' })
  await raw.ready()
  await raw.append(bytes)
  await raw.close()
}

async function readAll<T>(multi: Multifeed<T>, since = {}): Promise<ReadEntry<T>[]> {
  const out: ReadEntry<T>[] = []
  for await (const entry of multi.read({ since })) out.push(entry)
  return out
}

describe('append() checks values against the set encoding', () => {
  it("a Buffer in a 'json' set rejects with ERR_ENCODING naming the feed and index; nothing is written", async () => {
    const multi = await open(null, { valueEncoding: 'json' })
    const w = await writer(multi)
    await w.append({ n: 0 })
    const err = await w.append(Buffer.from('not json')).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(EncodingError)
    expect(err).toMatchObject({ code: 'ERR_ENCODING', seq: 1, key: w.key })
    // a batch with one bad value writes none of it
    await expect(w.append([{ n: 1 }, new Uint8Array([1])])).rejects.toMatchObject({
      code: 'ERR_ENCODING',
      seq: 2
    })
    expect(w.length).toBe(1)
    await w.append([{ n: 1 }, 'text', [1, 2]])
    expect(w.length).toBe(4)
    expect(await w.get(3)).toEqual([1, 2])
  })

  it('values the codec cannot encode reject with ERR_ENCODING and the codec error as cause', async () => {
    const json = await writer(await open(null, { valueEncoding: 'json' }))
    await expect(json.append(undefined)).rejects.toMatchObject({ code: 'ERR_ENCODING', seq: 0 })
    const err = await json.append(10n).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'ERR_ENCODING' })
    expect((err as EncodingError).cause).toBeInstanceOf(TypeError)

    const text = await writer(await open(null, { valueEncoding: 'utf-8' }))
    await expect(text.append(5 as unknown as string)).rejects.toMatchObject({
      code: 'ERR_ENCODING'
    })
    await expect(text.append(Buffer.from('x') as unknown as string)).rejects.toMatchObject({
      code: 'ERR_ENCODING'
    })
    await text.append('fine')
    expect(await text.get(0)).toBe('fine')
  })

  it('a codec of the user that does not read its own bytes back is refused at the append', async () => {
    // Encodes a number in one byte, but decodes only values below 100.
    const byte: Encoding<number> = {
      preencode(state) {
        state.end++
      },
      encode(state, value) {
        state.buffer![state.start++] = value
      },
      decode(state) {
        const value = state.buffer![state.start++]!
        if (value >= 100) throw new Error(`${value} is out of range`)
        return value
      }
    }
    const w = await writer(await open<number>(null, { valueEncoding: byte }))
    await w.append(7)
    await expect(w.append(200)).rejects.toMatchObject({ code: 'ERR_ENCODING', seq: 1 })
    expect(w.length).toBe(1)
    expect(await w.get(0)).toBe(7)
  })

  it('sessions made from ours (w.session(), and theirs) append through the same guard and read with the set encoding', async () => {
    const multi = await open(null, { valueEncoding: 'json' })
    const w = await writer(multi)
    await w.append({ n: 0 })
    const plain = w.session()
    const binary = w.session({ valueEncoding: 'binary' }) as unknown as Hypercore<unknown>
    const nested = plain.session()
    for (const s of [plain, binary, nested]) onCleanup(() => s.close())
    await Promise.all([plain.ready(), binary.ready(), nested.ready()])
    for (const s of [plain, binary, nested]) {
      await expect(s.append(Buffer.from('not json'))).rejects.toMatchObject({
        code: 'ERR_ENCODING',
        key: w.key
      })
    }
    expect(w.length).toBe(1)
    // Values go through the set's encoding, whatever the session reads with.
    await plain.append({ n: 1 })
    await binary.append({ n: 2 })
    await nested.append({ n: 3 })
    expect(await plain.get(3)).toEqual({ n: 3 })
    expect(await binary.get(2)).toEqual(Buffer.from('{"n":2}'))
    const values = (await readAll(multi)).map((e) => ('value' in e ? e.value : e.error))
    expect(values).toEqual([{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }])
  })

  it('a binary set takes bytes as before', async () => {
    const w = await writer(await open<Buffer>())
    await w.append([Buffer.from('a'), new Uint8Array([1, 2]) as Buffer])
    expect(w.length).toBe(2)
  })
})

describe('read() reports a block that does not decode and goes on', () => {
  it('every peer yields the valid entries and the bad one as { key, seq, error }; since skips it', async () => {
    const a = await open(null, { valueEncoding: 'json' })
    const b = await open(a.key, { valueEncoding: 'json' })
    const w = await writer(a)
    await w.append({ n: 0 })
    await appendRaw(a, w as Hypercore<unknown>, Buffer.from('not json'))
    await w.append({ n: 2 })
    const other = await writer(a, 'other')
    await other.append({ m: 0 })
    pipe(a, b)
    await untilConverged([a as Multifeed<unknown>, b as Multifeed<unknown>], 2)

    for (const multi of [a, b]) {
      const entries = await readAll(multi)
      expect(entries.map((e) => [e.key.equals(w.key!) ? 'w' : 'other', e.seq])).toEqual([
        ['w', 0],
        ['w', 1],
        ['w', 2],
        ['other', 0]
      ])
      expect(entries.map((e) => e.value)).toEqual([{ n: 0 }, undefined, { n: 2 }, { m: 0 }])
      const bad = entries[1]!
      expect(bad.error).toBeInstanceOf(EncodingError)
      expect(bad.error).toMatchObject({ code: 'ERR_ENCODING', seq: 1, key: w.key })
      expect(bad.error!.message).toContain(w.key!.toString('hex'))
      expect((bad.error!.cause as { code?: string }).code).toBe('DECODING_ERROR')
      for (const e of [entries[0]!, entries[2]!, entries[3]!]) expect(e.error).toBeUndefined()
    }

    // An indexer stores seq + 1 of every entry, the bad one included: resuming skips it.
    const since = { [w.key!.toString('hex')]: 2, [other.key!.toString('hex')]: 1 }
    const rest = await readAll(b, since)
    expect(rest.map((e) => [e.seq, e.value, e.error])).toEqual([[2, { n: 2 }, undefined]])
  })
})
