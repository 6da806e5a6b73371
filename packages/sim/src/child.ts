/**
 * A peer in a child process (the simulator forks this file): an honest
 * replica on its own storage, connected through the link sockets the
 * simulator's hub opens to it, or by Hyperswarm on the loopback testnet. It answers the simulator's commands over IPC
 * and reports its peer-errors, warnings and unhandled rejections. A crash is
 * a SIGKILL from the simulator; it is started again on the same storage.
 */
import type { NetworkerBase } from '@multifeed/networker'
import { Networker } from '@multifeed/networker'
import { corestoreAt } from '@multifeed/testing'
import HyperDHT from 'hyperdht'
import type { FromChild, ToChild } from './world/ipc.js'
import { Replica } from './world/Replica.js'
import { SocketNetworker } from './world/SocketNetworker.js'

const send = (message: FromChild): void => {
  process.send?.(message)
}

process.on('unhandledRejection', (reason) =>
  send({ type: 'process', detail: `unhandled rejection in a child peer: ${String(reason)}` })
)
process.on('warning', (w) =>
  send({ type: 'process', detail: `process warning in a child peer: ${w.name}: ${w.message}` })
)
process.on('disconnect', () => process.exit(0))

let replica: Replica | null = null
/**
 * The replica once `start` made it: a command that comes while the child is
 * still starting (the simulator sends a removal as soon as the child is
 * forked) waits for it instead of failing; the replica itself holds a
 * removal for a set still opening until that set is open.
 */
let created: (replica: Replica) => void = () => {}
const made = new Promise<Replica>((resolve) => {
  created = resolve
})

process.on('message', (message: ToChild) => {
  handle(message).catch((err) => {
    if ('id' in message) send({ type: 'reply', id: message.id, error: String(err) })
    else send({ type: 'process', detail: `child peer failed: ${String(err)}` })
  })
})

async function handle(message: ToChild): Promise<void> {
  switch (message.type) {
    case 'start': {
      const s = message.setup
      const store = corestoreAt(s.dir, {
        primaryKey: Buffer.from(s.primaryKey, 'hex'),
        unsafe: true
      })
      await store.ready()
      const keyPair = {
        publicKey: Buffer.from(s.publicKey, 'hex'),
        secretKey: Buffer.from(s.secretKey, 'hex')
      }
      let networker: NetworkerBase
      if (s.bootstrap !== null) {
        // An ephemeral DHT node bound to 127.0.0.1, as the testnet's own nodes are.
        const dht = new HyperDHT({ bootstrap: s.bootstrap, ephemeral: true, host: '127.0.0.1' })
        networker = new Networker(store, { dht, keyPair })
      } else {
        const sockets = new SocketNetworker(store, keyPair, send)
        send({ type: 'listening', port: await sockets.listen() })
        networker = sockets
      }
      const identity =
        s.identity === null
          ? null
          : {
              publicKey: Buffer.from(s.identity.publicKey, 'hex'),
              secretKey: Buffer.from(s.identity.secretKey, 'hex')
            }
      replica = new Replica(
        s.index,
        store,
        networker,
        (report) => send({ type: 'peer-error', report }),
        identity,
        (acted) => send({ type: 'acted', acted })
      )
      created(replica)
      await replica.open(
        s.setKeys.map((k, i) => ({ key: Buffer.from(k, 'hex'), invite: s.invites[i] ?? null })),
        s.sets,
        s.removed
      )
      send({ type: 'started' })
      return
    }
    case 'append': {
      const result = await (await made).append(message.set, message.count)
      send({ type: 'reply', id: message.id, result })
      return
    }
    case 'remove': {
      await (await made).remove(message.set, message.key)
      send({ type: 'reply', id: message.id })
      return
    }
    case 'spam': {
      const result = await (await made).spam(message.set, message.writers, message.count)
      send({ type: 'reply', id: message.id, result })
      return
    }
    case 'moderate': {
      const result = await (await made).moderate(message.set, {
        action: message.action,
        target: message.target,
        spammer: Buffer.from(message.spammer, 'hex'),
        latestFeed: message.latestFeed === null ? null : Buffer.from(message.latestFeed, 'hex')
      })
      send({ type: 'reply', id: message.id, result })
      return
    }
    case 'authority': {
      const result = await (await made).authority(
        message.set,
        message.action,
        Buffer.from(message.identity, 'hex')
      )
      send({ type: 'reply', id: message.id, result })
      return
    }
    case 'snapshot': {
      const result = await (await made).snapshot(message.ask)
      send({ type: 'reply', id: message.id, result })
      return
    }
    case 'stop': {
      await replica?.close()
      replica = null
      send({ type: 'reply', id: message.id })
      process.disconnect()
    }
  }
}
