/**
 * What the puppet does, one seeded operation at a time: each operation
 * sends one message or makes one move (answer honestly, send a generated
 * or mutated message, replay, reopen or close X's channel, abuse pairing,
 * play a stranger). Which one runs is the puppet's draw, by each role's
 * weights (puppet.ts). A new kind of message: its generator in
 * generators.ts, an operation here, a weight in puppet.ts's table.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import c from 'compact-encoding'
import {
  decodeRecords,
  ELEMENTS_DONE,
  ELEMENTS_LIST,
  ELEMENTS_LIST_END,
  encodeElements,
  encodeMore,
  encodeOpen,
  encodePairingOpen,
  encodeRecords,
  encodeSymbols,
  encodeTokens,
  MAX_ELEMENTS_PER_MESSAGE,
  MAX_RECORDS_PER_MESSAGE,
  MAX_SYMBOLS_PER_MESSAGE,
  MAX_TOKENS_PER_MESSAGE,
  MESSAGE_RECORDS,
  PAIRING_PROTOCOL,
  PROTOCOL_MAJOR,
  PROTOCOL_NAME,
  RECORDS_END
} from '../src/protocol/messages.js'
import { pairingToken } from '../src/protocol/pairing.js'
import type { Generators } from './generators.js'
import { mutate } from './mutate.js'
import type { RecordForge } from './records.js'
import type { Responder } from './responder.js'
import type { Rng } from './rng.js'
import type { Mode, Replayable } from './roles.js'
import { ELEMENTS, MORE, SYMBOLS, TYPES, type Wire } from './wire.js'

/** What an operation acts on: the parts of one puppet (Puppet builds it). */
export interface Actor {
  readonly mode: Mode
  /** The key of multifeed X. */
  readonly key: Buffer
  readonly rng: Rng
  readonly replay: Replayable
  /** The connection's handshake hash, and whether we are its initiator. */
  readonly hash: Buffer
  readonly initiator: boolean
  /** Our pairing token on this connection. */
  readonly token: Buffer
  readonly wire: Wire
  readonly generators: Generators
  readonly responder: Responder
  /** A moderated X's records, valid and hostile (null: X is a plain set). */
  readonly forge: RecordForge | null
  /** Answer A's next open of X's channel (false after a deliberate close). */
  answer(yes: boolean): void
  /** The Open that our next open of X's channel sends (instead of a fresh valid one). */
  prepareOpen(raw: Buffer): void
  /** Opens X's channel from our side, unless it is open. */
  openChannel(): void
  /** Side A's application attaches X again (after X's channel closed on an error). */
  reattach(): void
}

export type Op = (p: Actor) => void | Promise<void>

export const ops = {
  /** The next answer the protocol expects, else a live update of our fake feeds. */
  honest(p: Actor): void {
    const reply = p.responder.replies.shift()
    if (reply !== undefined) {
      p.wire.send('honest', reply.type, reply.raw, reply.what)
      return
    }
    const elements = p.generators.fake.map((e) => ({
      key: e.key,
      length: e.length + p.rng.range(0, 2)
    }))
    p.wire.send('honest', ELEMENTS, encodeElements({ flags: 0, elements }), 'live update')
  },
  elements(p: Actor): void {
    const n = p.rng.chance(0.9) ? p.rng.range(1, 8) : p.rng.range(9, 200)
    p.wire.send(
      'elements',
      ELEMENTS,
      encodeElements({ flags: 0, elements: p.generators.elements(n) }),
      `${n}`
    )
  },
  /** DONE: out of place unless A encodes and waits for it; twice is always wrong. */
  done(p: Actor): void {
    const n = p.rng.range(0, 3)
    p.wire.send(
      'done',
      ELEMENTS,
      encodeElements({ flags: ELEMENTS_DONE, elements: p.generators.elements(n) })
    )
  },
  /**
   * A list (list mode): ours, honest, when A waits for it; else out of
   * place, longer than announced, with a feed twice (generators.elements),
   * ended twice, flagged DONE or LIST_END alone.
   */
  list(p: Actor): void {
    const rng = p.rng
    const END = ELEMENTS_LIST | ELEMENTS_LIST_END
    const flags = rng.pick([END, END, ELEMENTS_LIST, END | ELEMENTS_DONE, ELEMENTS_LIST_END])
    const n = rng.chance(0.8) ? rng.range(0, 6) : rng.range(7, 300)
    const honest = rng.chance(0.3)
    const elements = honest ? p.generators.fake : p.generators.elements(n)
    const note = `${honest ? 'ours' : elements.length} flags ${flags}`
    p.wire.send('list', ELEMENTS, encodeElements({ flags, elements }), note)
  },
  flags(p: Actor): void {
    const flags = p.rng.pick([2, 3, 0xff, 2 ** 32, 2 ** 53 - 1])
    p.wire.send(
      'flags',
      ELEMENTS,
      encodeElements({ flags, elements: p.generators.elements(1) }),
      `${flags}`
    )
  },
  symbols(p: Actor): void {
    const rng = p.rng
    const n = rng.range(0, 12)
    const real = p.responder.encoder !== null && rng.chance(0.5)
    const start = rng.pick([
      0,
      p.responder.encoded,
      p.responder.encoded + 1,
      rng.int(2 ** 20),
      2 ** 20
    ])
    const symbols = real
      ? p.responder.encoder!.symbols(start, start + n)
      : p.generators.garbageSymbols(n)
    p.wire.send(
      'symbols',
      SYMBOLS,
      encodeSymbols({ start, symbols }),
      `${real ? 'real' : 'garbage'} @${start}`
    )
  },
  more(p: Actor): void {
    const count = p.rng.count(MAX_SYMBOLS_PER_MESSAGE)
    p.wire.send('more', MORE, encodeMore({ count }), `${count}`)
  },
  mutate(p: Actor): void {
    const rng = p.rng
    const { type, raw } = p.generators.valid(p.responder.encoded)
    const m = mutate(rng, raw, p.generators.valid(p.responder.encoded).raw)
    const on = rng.chance(0.9) ? type : rng.int(TYPES)
    p.wire.send('mutate', on, m.bytes, m.kind)
  },
  random(p: Actor): void {
    const rng = p.rng
    p.wire.send('random', rng.int(3), rng.bytes(rng.range(0, 300)))
  },
  randomType(p: Actor): void {
    const rng = p.rng
    const { raw } = p.generators.valid(p.responder.encoded)
    p.wire.send(
      'randomType',
      rng.range(3, TYPES - 1),
      rng.chance(0.5) ? raw : rng.bytes(rng.int(64))
    )
  },
  oversized(p: Actor): void {
    const rng = p.rng
    switch (rng.int(4)) {
      case 0: {
        const elements = Array.from({ length: MAX_ELEMENTS_PER_MESSAGE + 1 }, () => ({
          key: rng.bytes(32),
          length: 1
        }))
        p.wire.send('oversized', ELEMENTS, encodeElements({ flags: 0, elements }), '4097 elements')
        return
      }
      case 1: {
        const symbols = p.generators.garbageSymbols(MAX_SYMBOLS_PER_MESSAGE + 1)
        p.wire.send('oversized', SYMBOLS, encodeSymbols({ start: 0, symbols }), '4097 symbols')
        return
      }
      case 2: {
        const tokens = Array.from({ length: MAX_TOKENS_PER_MESSAGE + 1 }, () => rng.bytes(16))
        p.wire.sendTokens(tokens, 'oversized')
        return
      }
      default:
        p.wire.send('oversized', rng.int(3), rng.bytes(256 * 1024), '256 KiB')
    }
  },
  duplicate(p: Actor): void {
    const last = p.wire.last
    if (last !== null) p.wire.send('duplicate', last.type, last.raw)
  },
  /** A message sent earlier (on this connection or an earlier one), out of order. */
  replay(p: Actor): void {
    const rng = p.rng
    const pool = rng.chance(0.7) ? p.wire.sentOnChannel : p.replay.messages
    if (pool.length === 0) return
    const m = rng.pick(pool)
    p.wire.send('replay', m.type, m.raw)
  },
  /** Close X's channel and open it again at once (a fresh Open, maybe bent). */
  reopen(p: Actor): void {
    const rng = p.rng
    p.wire.channel?.close()
    p.answer(true)
    if (rng.chance(0.3)) {
      const bad = p.generators.badOpen()
      p.prepareOpen(bad.raw)
    }
    // Our announcement was spent when the channel closed: announce again.
    p.wire.sendTokens([p.token], 'reopen')
    if (rng.chance(0.5)) p.openChannel()
  },
  /**
   * Close and re-open X's channel several times in a row, each Open
   * claiming a set far from A's (minor 0 and a huge count: symbols are due;
   * or minor 1 and nothing: A's list is due), each followed by requests for
   * more symbols that never read a batch: what A sends stays within its
   * reply budget (the 'amplification' check of the episode).
   */
  reopenLoop(p: Actor): void {
    const rng = p.rng
    const rounds = rng.range(3, 12)
    for (let i = 0; i < rounds; i++) {
      const open = p.generators.validOpen()
      if (rng.chance(0.5)) {
        open.minor = 0
        open.count = rng.pick([2 ** 32, 2 ** 53 - 1, 1_000_000])
      } else {
        open.count = 0
      }
      ;(ops.reopen as Op)(p)
      p.prepareOpen(encodeOpen(open))
      p.openChannel()
      for (let k = rng.range(0, 8), count = 1024; k > 0; k--, count *= 2) {
        const n = Math.min(count, MAX_SYMBOLS_PER_MESSAGE)
        p.wire.send('more', MORE, encodeMore({ count: n }), `blind ${n}`)
      }
    }
  },
  /**
   * Moderation records on a moderated X's channel (Records, unasked: a push):
   * a slice of the valid history in random order, or an attack on it
   * (records.ts). Each record is counted by what it is meant to be.
   */
  records(p: Actor): void {
    if (p.forge === null) return
    const batch = p.forge.next()
    if (batch.records.length === 0) return
    const raw = encodeRecords({ flags: 0, records: batch.records })
    if (p.wire.send('records', MESSAGE_RECORDS, raw, `${batch.attack} ×${batch.records.length}`)) {
      const tally = p.wire.stats.records
      tally[batch.attack] = (tally[batch.attack] ?? 0) + batch.records.length
    }
  },
  /**
   * Records messages out of shape: too many records, an unasked end, bytes
   * mutated. Those that still decode are counted as 'abuse' (X may take them).
   */
  recordsAbuse(p: Actor): void {
    if (p.forge === null) return
    const rng = p.rng
    const valid = p.forge.history.map((r) => r.bytes)
    let raw: Buffer
    let note: string
    switch (rng.int(3)) {
      case 0: {
        const records = Array.from({ length: MAX_RECORDS_PER_MESSAGE + 1 }, () => rng.pick(valid))
        raw = encodeRecords({ flags: 0, records })
        note = `${records.length} records`
        break
      }
      case 1:
        raw = encodeRecords({ flags: RECORDS_END, records: [rng.pick(valid)] })
        note = 'unasked end'
        break
      default: {
        const m = mutate(rng, encodeRecords({ flags: 0, records: [rng.pick(valid)] }))
        raw = m.bytes
        note = m.kind
      }
    }
    if (!p.wire.send('records abuse', MESSAGE_RECORDS, raw, note)) return
    try {
      const n = decodeRecords(raw).records.length
      p.wire.stats.records.abuse = (p.wire.stats.records.abuse ?? 0) + n
    } catch {}
  },
  closeOnly(p: Actor): void {
    p.answer(false)
    p.wire.channel?.close()
  },
  badOpen(p: Actor): void {
    ;(ops.reopen as Op)(p)
    p.prepareOpen(p.generators.badOpen().raw)
  },
  /** The application on A attaches X again after an error closed it (as an app would). */
  reattach(p: Actor): void {
    p.answer(true)
    p.reattach()
  },
  tokens(p: Actor): void {
    const rng = p.rng
    // A stranger cannot derive the tokens of the key.
    switch (p.mode === 'stranger' ? 2 + rng.int(5) : rng.int(7)) {
      case 0:
        p.wire.sendTokens([p.token], 'tokens: ours again')
        return
      case 1:
        // A's own token reflected back (the roles differ: must not pair).
        p.wire.sendTokens([pairingToken(p.key, p.hash, !p.initiator)], 'tokens: reflected')
        return
      case 2:
        p.wire.sendTokens(
          Array.from({ length: rng.range(1, 8) }, () => rng.bytes(16)),
          'tokens: random'
        )
        return
      case 3:
        p.wire.sendTokens(
          Array.from({ length: MAX_TOKENS_PER_MESSAGE }, () => rng.bytes(16)),
          'tokens: flood'
        )
        return
      case 4:
        if (p.replay.tokens.length > 0) {
          p.wire.sendTokens([rng.pick(p.replay.tokens)], 'tokens: replayed')
        }
        return
      default: {
        const ours = p.mode === 'stranger' ? rng.bytes(16) : p.token
        const m = mutate(rng, encodeTokens({ tokens: [ours, rng.bytes(16)] }))
        p.wire.sendTokensRaw('tokens: mutated', m.bytes, m.kind)
      }
    }
  },
  /** The pairing channel closed under everyone, or opened twice. */
  pairingAbuse(p: Actor): void {
    if (p.rng.chance(0.5)) {
      for (const ch of p.wire.mux) if (ch.protocol === PAIRING_PROTOCOL) ch.close()
      return
    }
    const ch = p.wire.mux.createChannel<Buffer>({
      protocol: PAIRING_PROTOCOL,
      unique: false,
      handshake: c.raw
    })
    if (ch === null) return
    const raw = p.rng.chance(0.5)
      ? encodePairingOpen({ major: PROTOCOL_MAJOR, minor: 0 })
      : p.rng.bytes(p.rng.int(8))
    p.wire.record('pairing open twice', -1, raw)
    ch.open(raw)
    p.wire.strangers.push(ch)
  },
  /** Channels of multifeed/2 with ids nobody derived (or a replayed one). */
  strangerChannel(p: Actor): void {
    const rng = p.rng
    const replayed = p.replay.ids.length > 0 && rng.chance(0.3)
    const id = replayed ? rng.pick(p.replay.ids) : rng.bytes(rng.pick([16, 16, 32, 0, 1]))
    const ch = p.wire.mux.createChannel<Buffer>({
      protocol: PROTOCOL_NAME,
      id,
      handshake: c.raw,
      onopen: () => {
        p.wire.stats.strangerOpens++
      }
    })
    if (ch === null) return
    for (let type = 0; type < 4; type++) ch.addMessage<Buffer>({ encoding: c.raw })
    const open = rng.chance(0.5) ? encodeOpen(p.generators.validOpen()) : rng.bytes(rng.int(80))
    p.wire.record('stranger channel', -1, open, replayed ? 'replayed id' : 'random id')
    ch.open(open)
    p.wire.strangers.push(ch)
    if (p.wire.strangers.length > 16) p.wire.strangers.shift()?.close()
  },
  strangerMessage(p: Actor): void {
    const rng = p.rng
    const open = p.wire.strangers.filter((ch) => !ch.closed)
    if (open.length === 0) return
    const { type, raw } = rng.chance(0.5)
      ? p.generators.valid(p.responder.encoded)
      : { type: rng.int(4), raw: rng.bytes(rng.int(200)) }
    p.wire.send('stranger message', type, raw, undefined, rng.pick(open))
  },
  /** Let A answer. */
  async wait(p: Actor): Promise<void> {
    await sleep(p.rng.range(0, 5))
  }
} satisfies Record<string, Op>
