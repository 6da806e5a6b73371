/**
 * A link end in a child process: a TCP connection on 127.0.0.1 to the
 * child's link server. The first 33 bytes tell the child its role
 * (1: initiator) and the remote's public key; the child then runs its
 * NoiseSecretStream over the socket (child.ts).
 */
import { connect } from 'node:net'
import type { LinkEnd } from './SimHub.js'

export function socketEnd(port: number, initiator: boolean, remotePublicKey: Buffer): LinkEnd {
  const socket = connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  socket.write(Buffer.concat([Buffer.from([initiator ? 1 : 0]), remotePublicKey]))
  return {
    raw: socket,
    onClose: (listener) => {
      if (socket.destroyed) queueMicrotask(listener)
      else socket.once('close', listener)
    },
    destroy: () => socket.destroy(),
    // What the child queues is in the child; here only the socket's own buffer.
    queued: () => socket.writableLength
  }
}

/** Reads the 33-byte header of a link socket (child side); the rest stays in the socket. */
export function readHeader(
  socket: import('node:net').Socket
): Promise<{ initiator: boolean; remotePublicKey: Buffer }> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0)
    const ondata = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk])
      if (got.byteLength < 33) return
      socket.off('data', ondata)
      socket.off('close', onclose)
      socket.pause()
      const rest = got.subarray(33)
      if (rest.byteLength > 0) socket.unshift(rest)
      resolve({ initiator: got[0] === 1, remotePublicKey: got.subarray(1, 33) })
    }
    const onclose = (): void => reject(new Error('link socket closed before its header'))
    socket.on('data', ondata)
    socket.once('close', onclose)
  })
}
