/**
 * The DHT nodes of a testnet on 127.0.0.1, every one of them routable.
 *
 * Why not `hyperdht/testnet` as it is: its first node starts without a bootstrap node, so it
 * never learns that its address is its id, and no other node ever puts it in its routing
 * table. Of 3 nodes, 2 are usable. hyperdht's holepuncher classifies its NAT from the answers
 * of at least 3 nodes (lib/nat.js), so on such a testnet it never can: every holepunch is
 * aborted. Two peers on one host still connect through hyperdht's LAN shortcut, but since
 * hyperdht 6.33 the shortcut races the holepunch, and when the server's abort comes first it
 * destroys the raw stream the client has just connected to: the client's connection stays
 * half-open until UDX gives up (~14 s) and hyperswarm retries (hyperdht issue #304). Across
 * processes that stalled most first connections (notes/testnet-stall.md). Here the first node
 * is a `HyperDHT.bootstrapper`, whose id is its address, and the others bootstrap from it.
 */
import type { HyperDHT, HyperDHTOptions, Testnet } from '@multifeed/holepunch-types'
import HyperDHTClass from 'hyperdht'
import UDX from 'udx-native'

const HOST = '127.0.0.1'

/** How many times a free port is looked for again when another process took it first. */
const PORT_ATTEMPTS = 5

/** A loopback testnet of routable nodes, with hyperdht/testnet's interface. */
class LoopbackTestnet implements Testnet {
  readonly nodes: HyperDHT[]
  readonly bootstrap: Array<{ host: string; port: number }>

  constructor(nodes: HyperDHT[]) {
    this.nodes = nodes
    this.bootstrap = nodes.map((node) => ({ host: HOST, port: node.address().port }))
  }

  createNode(options: HyperDHTOptions = {}): HyperDHT {
    const node = new HyperDHTClass({
      ephemeral: true,
      bootstrap: this.bootstrap,
      host: HOST,
      ...options
    })
    this.nodes.push(node)
    return node
  }

  /** Destroys the nodes last made first (each closes its servers): the testnet's own nodes last. */
  async destroy(): Promise<void> {
    for (let i = this.nodes.length - 1; i >= 0; i--) await this.nodes[i]!.destroy()
  }

  [Symbol.iterator](): Iterator<HyperDHT> {
    return this.nodes[Symbol.iterator]()
  }
}

/** Starts `size` persistent, routable DHT nodes on 127.0.0.1. */
export async function startLoopbackTestnet(size: number): Promise<Testnet> {
  const first = await startBootstrapper()
  const nodes = [first]
  try {
    const bootstrap = [{ host: HOST, port: first.address().port }]
    while (nodes.length < size) {
      const node = new HyperDHTClass({ ephemeral: false, firewalled: false, bootstrap, host: HOST })
      nodes.push(node)
      await node.fullyBootstrapped()
    }
  } catch (err) {
    for (const node of nodes.reverse()) await node.destroy()
    throw err
  }
  return new LoopbackTestnet(nodes)
}

/**
 * A bootstrapper on a free port. `HyperDHT.bootstrapper` needs the port up front: the kernel
 * picks one for a socket of our own, which is closed again, so another process may bind it in
 * between; then we try another.
 */
async function startBootstrapper(): Promise<HyperDHT> {
  const udx = new UDX()
  for (let attempt = 1; ; attempt++) {
    const socket = udx.createSocket()
    socket.bind(0, HOST)
    const { port } = socket.address()
    await socket.close()
    const node = HyperDHTClass.bootstrapper(port, HOST, { host: HOST, udx })
    try {
      await node.fullyBootstrapped()
      return node
    } catch (err) {
      await node.destroy()
      if (attempt === PORT_ATTEMPTS) throw err
    }
  }
}
