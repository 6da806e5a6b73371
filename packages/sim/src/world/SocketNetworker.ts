/**
 * The networker of a peer in a child process: a `NetworkerBase` whose
 * connections are the link sockets the simulator's hub opens to it, and
 * whose topic joins are sent to the hub over IPC.
 */
import { createServer, type Server } from 'node:net'
import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { NoiseSecretStream as Connection, Corestore } from '@multifeed/holepunch-types'
import { NetworkerBase, type SwarmedMultifeed, type SwarmKeyPair } from '@multifeed/networker'
import type { FromChild } from './ipc.js'
import { readHeader } from './SocketEnd.js'

export class SocketNetworker extends NetworkerBase {
  readonly #server: Server
  readonly #streams = new Set<Connection>()

  constructor(
    corestore: Corestore,
    readonly keyPair: SwarmKeyPair,
    readonly send: (message: FromChild) => void
  ) {
    super(corestore)
    this.#server = createServer((socket) => {
      socket.on('error', () => {})
      readHeader(socket).then(
        ({ initiator, remotePublicKey }) => {
          if (this.closing) return socket.destroy()
          // readHeader left the socket paused: flow again once the Noise stream listens.
          const resume = (event: string | symbol): void => {
            if (event !== 'data') return
            socket.off('newListener', resume)
            setImmediate(() => socket.resume())
          }
          socket.on('newListener', resume)
          const stream: Connection = new NoiseSecretStream(initiator, socket, { keyPair })
          this.#streams.add(stream)
          stream.once('close', () => this.#streams.delete(stream))
          this._handleConnection(stream, remotePublicKey)
        },
        () => socket.destroy()
      )
    })
  }

  /** Starts the link server on 127.0.0.1; resolves to its port. */
  listen(): Promise<number> {
    return new Promise((resolve) => {
      this.#server.listen(0, '127.0.0.1', () => {
        const address = this.#server.address()
        resolve(typeof address === 'object' && address !== null ? address.port : 0)
      })
    })
  }

  protected async _joinTopic(entry: SwarmedMultifeed): Promise<void> {
    this.send({
      type: 'join',
      topic: entry.topic.toString('hex'),
      announce: entry.announce,
      lookup: entry.lookup
    })
  }

  protected async _leaveTopic(entry: SwarmedMultifeed): Promise<void> {
    this.send({ type: 'leave', topic: entry.topic.toString('hex') })
  }

  protected async _closeTransport(): Promise<void> {
    const closing = [...this.#streams].map(
      (s) => new Promise<void>((resolve) => s.once('close', () => resolve()))
    )
    for (const s of this.#streams) s.destroy()
    await Promise.all(closing)
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
