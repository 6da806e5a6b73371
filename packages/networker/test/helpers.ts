import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import createTestnet from '@hyperswarm/testnet'
import { Multifeed } from '@multifeed/core'
import type { Corestore, Hypercore, Testnet } from '@multifeed/holepunch-types'
import CorestoreClass from 'corestore'
import { afterEach, beforeEach } from 'vitest'
import type { NetworkerInterface } from '../src/index.js'
import { InProcessHub, InProcessNetworker, Networker } from '../src/index.js'

const TMP_ROOT = existsSync('/dev/shm') ? '/dev/shm' : tmpdir()

/** Runs registered teardown steps in reverse order (later = earlier), then the `last` ones. */
export class Teardown {
  readonly #steps: Array<() => unknown> = []
  readonly #last: Array<() => unknown> = []

  add(step: () => unknown, options: { last?: boolean } = {}): void {
    if (options.last) this.#last.unshift(step)
    else this.#steps.push(step)
  }

  async run(): Promise<void> {
    const errors: unknown[] = []
    for (const step of [...this.#steps.reverse(), ...this.#last]) {
      try {
        await step()
      } catch (err) {
        errors.push(err)
      }
    }
    this.#steps.length = 0
    this.#last.length = 0
    if (errors.length > 0) throw errors[0]
  }
}

export async function tmpDir(t: Teardown): Promise<string> {
  const dir = await mkdtemp(join(TMP_ROOT, 'multifeed-networker-'))
  t.add(() => rm(dir, { recursive: true, force: true }), { last: true })
  return dir
}

/** Polls `condition` every 20 ms; rejects with `message()` once `timeout` ms passed. */
export async function waitFor(
  condition: () => boolean | Promise<boolean>,
  message: () => string,
  timeout = 20_000
): Promise<void> {
  const start = Date.now()
  while (!(await condition())) {
    if (Date.now() - start > timeout) throw new Error(`Timed out after ${timeout} ms: ${message()}`)
    await sleep(20)
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Every feed of `multi`, with the length it holds. */
export function describeFeeds(multi: Multifeed): string {
  return multi
    .feeds()
    .map((info) => `${info.key.toString('hex').slice(0, 8)}:${info.length}`)
    .join(' ')
}

/** True when `multi` holds `feeds` feeds, each with `length` blocks downloaded. */
export function holds(multi: Multifeed, feeds: number, length: number): boolean {
  const all = multi.feeds()
  if (all.length !== feeds) return false
  return all.every((info) => info.length === length)
}

export async function waitHolds(
  multis: Multifeed[],
  feeds: number,
  length: number,
  timeout = 20_000
): Promise<void> {
  await waitFor(
    () => multis.every((multi) => holds(multi, feeds, length)),
    () =>
      `expected ${feeds} feeds × ${length} blocks on every multifeed; have ${multis
        .filter((multi) => !holds(multi, feeds, length))
        .slice(0, 3)
        .map((multi) => `[${describeFeeds(multi)}]`)
        .join(' ')}`,
    timeout
  )
}

/**
 * Appends `count` blocks (of `size` bytes if given) to the writer `name` of
 * `multi`, through a session of its own that it closes.
 */
export async function write(
  multi: Multifeed,
  count: number,
  name = 'main',
  size = 0
): Promise<void> {
  const writer = await multi.writer(name)
  try {
    const blocks: Buffer[] = []
    for (let i = 0; i < count; i++) {
      const text = Buffer.from(`${name} ${writer.length + i}`)
      blocks.push(
        size > text.length ? Buffer.concat([text, Buffer.alloc(size - text.length)]) : text
      )
    }
    if (blocks.length > 0) await writer.append(blocks)
  } finally {
    await writer.close()
  }
}

export type Kind = 'hyperswarm' | 'in-process'

/** The networkers every behaviour is tested on (`describe.each(KINDS)`). */
export const KINDS: Kind[] = ['hyperswarm', 'in-process']

export interface Peer {
  readonly dir: string
  readonly store: Corestore
  readonly net: NetworkerInterface
  /** The swarm of a Hyperswarm networker, null in process. */
  readonly networker: Networker | InProcessNetworker
  readonly multis: Multifeed[]
  open(key?: Buffer): Promise<Multifeed>
  /** Closes networker, multifeeds and store (the directory stays). */
  close(): Promise<void>
}

/** Creates peers of one kind (on a loopback testnet, or on one in-process hub). */
export class Env {
  readonly kind: Kind
  readonly t: Teardown
  testnet: Testnet | null = null
  readonly hub = new InProcessHub()
  /** Every `connection-error` any networker of this env emitted. */
  readonly connectionErrors: Error[] = []
  /** Set by the test's teardown (debug output only). */
  tearingDown = false
  readonly t0 = Date.now()
  readonly log: string[] = []

  constructor(kind: Kind, t: Teardown) {
    this.kind = kind
    this.t = t
  }

  static async create(kind: Kind, t: Teardown): Promise<Env> {
    const env = new Env(kind, t)
    if (kind === 'hyperswarm') {
      const testnet = await createTestnet(3)
      env.testnet = testnet
      // Swarms close before the testnet: registered "last", after every peer.
      t.add(() => testnet.destroy(), { last: true })
    }
    return env
  }

  networker(store: Corestore): Networker | InProcessNetworker {
    let networker: Networker | InProcessNetworker
    if (this.kind === 'in-process') {
      networker = new InProcessNetworker(store, { hub: this.hub })
    } else {
      if (this.testnet === null) throw new Error('no testnet')
      networker = new Networker(store, { dht: this.testnet.createNode() })
    }
    // DEBUG_NET=1: record a timeline of connections (printed by slow sync tests) and errors.
    if (process.env.DEBUG_NET && networker instanceof Networker) {
      const name = networker.publicKey.toString('hex').slice(0, 4)
      const t0 = this.t0
      const log = this.log
      networker.hyperswarm.on('connection', (conn, info) => {
        const other = conn.remotePublicKey?.toString('hex').slice(0, 4)
        log.push(`${Date.now() - t0} ${name} conn ${info.client ? 'client' : 'server'} ${other}`)
        conn.on('close', () =>
          log.push(`${Date.now() - t0} ${name} close ${other} read=${conn.rawBytesRead}`)
        )
        conn.on('error', (e: Error) =>
          log.push(`${Date.now() - t0} ${name} error ${other} ${e.message}`)
        )
      })
    }
    networker.on('connection-error', (err, peer) => {
      if (process.env.DEBUG_NET) {
        console.log('connection-error', err, peer?.stream.rawBytesRead, this.tearingDown)
      }
      this.connectionErrors.push(err)
    })
    return networker
  }

  async peer(dir?: string): Promise<Peer> {
    const directory = dir ?? (await tmpDir(this.t))
    const store = new CorestoreClass(directory)
    await store.ready()
    const networker = this.networker(store)
    const multis: Multifeed[] = []
    let closed = false
    const peer: Peer = {
      dir: directory,
      store,
      net: networker,
      networker,
      multis,
      open: async (key) => {
        const multi = await Multifeed.open(store, key ?? null)
        multis.push(multi)
        return multi
      },
      close: async () => {
        if (closed) return
        closed = true
        await networker.close()
        await Promise.all(multis.map((multi) => multi.close()))
        await store.close()
      }
    }
    this.t.add(() => peer.close())
    return peer
  }
}

/**
 * Gives each test of the enclosing describe block a fresh `Env` of `kind` (with its `Teardown`,
 * `env.t`), and runs the teardown after the test, between `beforeTeardown` and `afterTeardown`
 * when given. Returns the Env of the test that is running: every property read goes to the
 * current one (`const env = eachTestEnv(kind)`, then `env.peer()` in a test).
 */
export function eachTestEnv(
  kind: Kind,
  hooks: { beforeTeardown?: (env: Env) => void; afterTeardown?: (env: Env) => void } = {}
): Env {
  let current: Env | null = null
  beforeEach(async () => {
    current = await Env.create(kind, new Teardown())
  })
  afterEach(async () => {
    if (current === null) return
    const ended = current
    current = null
    hooks.beforeTeardown?.(ended)
    await ended.t.run()
    hooks.afterTeardown?.(ended)
  })
  return new Proxy({} as Env, {
    get(_, property) {
      if (current === null) throw new Error('eachTestEnv(): no test is running')
      const value: unknown = Reflect.get(current, property, current)
      return typeof value === 'function' ? value.bind(current) : value
    }
  })
}

/** Connections of a peer as the transport sees them. */
export function connectionCount(peer: Peer): number {
  const networker = peer.networker
  return networker instanceof Networker
    ? networker.hyperswarm.connections.size
    : networker.peers().length
}

/**
 * Records `download` events (block indices) of every feed of `multi`, current
 * and future, through sessions of its own (`multi.get()`); `close()` closes them.
 */
export async function countDownloads(
  multi: Multifeed
): Promise<{ blocks: number; indices: number[]; close(): Promise<void> }> {
  const sessions: Array<Promise<Hypercore>> = []
  const counter = {
    blocks: 0,
    indices: [] as number[],
    async close(): Promise<void> {
      const opened = await Promise.allSettled(sessions)
      await Promise.all(opened.map((r) => (r.status === 'fulfilled' ? r.value.close() : null)))
    }
  }
  const watch = (key: Buffer): Promise<Hypercore> => {
    const session = multi.get(key).then((core) => {
      core.on('download', (index) => {
        counter.blocks++
        counter.indices.push(index)
      })
      return core
    })
    sessions.push(session)
    return session
  }
  multi.on('feed', (info) => {
    watch(info.key).catch(() => {})
  })
  await Promise.all(multi.feeds().map((info) => watch(info.key)))
  return counter
}
