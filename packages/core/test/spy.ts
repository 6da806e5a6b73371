/**
 * What one side of a connection receives, decrypted: every channel open
 * (protocol and id), every reject, and every plaintext byte. Reading channel
 * opens needs Protomux's private `_onopensession` / `_onrejectsession`
 * (Protomux has no event for them); this is the only place tests touch them.
 */
import type { Duplex } from 'node:stream'
import Hypercore from 'hypercore'

export interface Received {
  opens: Array<{ protocol: string; id: Buffer | null }>
  rejects: number
  plaintext: Buffer[]
  /** True when `bytes` occurs anywhere in what was received. */
  contains(bytes: Buffer): boolean
  opensOf(protocol: string): number
}

export function spy(stream: Duplex): Received {
  const mux = Hypercore.getProtocolMuxer(stream) as unknown as {
    _onopensession(state: { buffer: Buffer; start: number; end: number }): unknown
    _onrejectsession(state: unknown): unknown
    stream: Duplex
  }
  const received: Received = {
    opens: [],
    rejects: 0,
    plaintext: [],
    contains(bytes) {
      return Buffer.concat(this.plaintext).includes(bytes)
    },
    opensOf(protocol) {
      return this.opens.filter((o) => o.protocol === protocol).length
    }
  }
  const onopen = mux._onopensession.bind(mux)
  mux._onopensession = (state) => {
    // open message: remote id (uint), protocol (string), id (optional buffer)
    const copy = { buffer: state.buffer, start: state.start, end: state.end }
    try {
      const c = compact
      c.uint.decode(copy)
      const protocol = c.string.decode(copy)
      const id = c.optionalBuffer?.decode ? c.optionalBuffer.decode(copy) : null
      received.opens.push({ protocol, id: id ? Buffer.from(id) : null })
    } catch {}
    return onopen(state)
  }
  const onreject = mux._onrejectsession.bind(mux)
  mux._onrejectsession = (state) => {
    received.rejects++
    return onreject(state)
  }
  mux.stream.on('data', (chunk: Buffer) => received.plaintext.push(Buffer.from(chunk)))
  return received
}

// compact-encoding's optionalBuffer is not in our narrow declarations.
import compactEncoding from 'compact-encoding'

const compact = compactEncoding as unknown as {
  uint: { decode(state: unknown): number }
  string: { decode(state: unknown): string }
  optionalBuffer?: { decode(state: unknown): Buffer | null }
}
