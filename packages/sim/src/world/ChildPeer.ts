/**
 * An honest peer in a child process (child.ts), seen from the simulator: it
 * forks the child on `start()`, registers it with the hub once its link
 * server listens, forwards its topic joins, and kills it with SIGKILL on
 * `crash()`. Restarted, the child opens the same storage.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { HubMembership } from '@multifeed/networker'
import { tmpRoot } from '@multifeed/testing'
import type { FromChild, ToChild } from './ipc.js'
import type { PeerSetup } from './LocalPeer.js'
import type { HonestMember } from './Member.js'
import type { Acted, ActOutcome, ModerationAct } from './Moderated.js'
import type { SimHub } from './SimHub.js'
import { socketEnd } from './SocketEnd.js'
import type { PeerErrorReport, PeerSnapshot } from './snapshot.js'

/** The child's entry, built: next to this build (dist/child.js), or the build's when run from src/. */
const CHILD = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? '../../dist/child.js' : '../child.js', import.meta.url)
)

export class ChildPeer implements HonestMember {
  onPeerError: ((report: PeerErrorReport) => void) | null = null
  onActed: ((acted: Acted) => void) | null = null
  /** Warnings and unhandled rejections the child reported. */
  onProcessIssue: ((detail: string) => void) | null = null
  #dir: string | null = null
  #child: ChildProcess | null = null
  #membership: HubMembership | null = null
  #nextId = 0
  readonly #pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()

  constructor(
    readonly setup: PeerSetup,
    readonly hub: SimHub,
    /** The loopback testnet's bootstrap nodes, or null: links through the hub. */
    readonly bootstrap: () => Array<{ host: string; port: number }> | null
  ) {}

  get index(): number {
    return this.setup.index
  }

  get publicKey(): Buffer {
    return this.setup.keyPair.publicKey
  }

  get online(): boolean {
    return this.#child !== null
  }

  async start(): Promise<void> {
    if (this.#child !== null) return
    this.#dir ??= await mkdtemp(join(tmpRoot(), `multifeed-sim-child-${this.index}-`))
    const child = fork(CHILD, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.#child = child
    child.on('message', (message: FromChild) => this.#onMessage(message))
    child.once('exit', () => this.#gone(child))
    const started = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromChild): void => {
        if (m.type !== 'started') return
        child.off('message', onMessage)
        resolve()
      }
      child.on('message', onMessage)
      child.once('exit', () => reject(new Error(`child peer ${this.index} exited while starting`)))
    })
    const s = this.setup
    this.#send({
      type: 'start',
      setup: {
        index: s.index,
        dir: this.#dir,
        publicKey: s.keyPair.publicKey.toString('hex'),
        secretKey: s.keyPair.secretKey.toString('hex'),
        primaryKey: s.primaryKey.toString('hex'),
        setKeys: s.access.map((a) => a.key.toString('hex')),
        invites: s.access.map((a) => a.invite),
        identity:
          s.identity === null
            ? null
            : {
                publicKey: s.identity.publicKey.toString('hex'),
                secretKey: s.identity.secretKey.toString('hex')
              },
        sets: s.sets,
        removed: s.removed(),
        bootstrap: this.bootstrap()
      }
    })
    await started
  }

  async stop(): Promise<void> {
    const child = this.#child
    if (child === null) return
    const exited = once(child, 'exit')
    await this.#request({ type: 'stop', id: this.#nextId++ }).catch(() => {})
    await exited
  }

  async crash(): Promise<void> {
    const child = this.#child
    if (child === null) return
    const exited = once(child, 'exit')
    child.kill('SIGKILL')
    await exited
  }

  async append(set: number, count: number): Promise<{ key: string; length: number }> {
    return (await this.#request({ type: 'append', id: this.#nextId++, set, count })) as {
      key: string
      length: number
    }
  }

  async remove(set: number, key: string): Promise<void> {
    if (this.#child === null) return
    await this.#request({ type: 'remove', id: this.#nextId++, set, key })
  }

  async spam(set: number, writers: number, count: number) {
    return (await this.#request({ type: 'spam', id: this.#nextId++, set, writers, count })) as {
      feeds: Array<{ key: string; length: number }>
      refused: number
    }
  }

  async moderate(
    set: number,
    { action, target, spammer, latestFeed }: ModerationAct
  ): Promise<ActOutcome> {
    if (this.#child === null) return 'nothing'
    return (await this.#request({
      type: 'moderate',
      id: this.#nextId++,
      set,
      action,
      target,
      spammer: spammer.toString('hex'),
      latestFeed: latestFeed?.toString('hex') ?? null
    })) as ActOutcome
  }

  async authority(set: number, action: 'grant' | 'revoke', identity: Buffer): Promise<ActOutcome> {
    if (this.#child === null) return 'nothing'
    return (await this.#request({
      type: 'authority',
      id: this.#nextId++,
      set,
      action,
      identity: identity.toString('hex')
    })) as ActOutcome
  }

  async snapshot(ask: string[]): Promise<PeerSnapshot> {
    if (this.#child === null) {
      return { index: this.index, online: false, sets: {}, stored: [], received: {} }
    }
    return (await this.#request({ type: 'snapshot', id: this.#nextId++, ask })) as PeerSnapshot
  }

  async destroy(): Promise<void> {
    await this.stop()
    if (this.#dir !== null) await rm(this.#dir, { recursive: true, force: true, maxRetries: 3 })
  }

  #send(message: ToChild): void {
    this.#child?.send(message)
  }

  #request(message: ToChild & { id: number }): Promise<unknown> {
    if (this.#child === null) return Promise.reject(new Error(`peer ${this.index} is offline`))
    return new Promise((resolve, reject) => {
      this.#pending.set(message.id, { resolve, reject })
      this.#send(message)
    })
  }

  #onMessage(message: FromChild): void {
    switch (message.type) {
      case 'listening': {
        const port = message.port
        this.#membership = this.hub.registerRemote({
          publicKey: this.publicKey,
          open: (initiator, remotePublicKey) => socketEnd(port, initiator, remotePublicKey)
        })
        return
      }
      case 'join':
        this.#membership?.join(Buffer.from(message.topic, 'hex'), message)
        return
      case 'leave':
        this.#membership?.leave(Buffer.from(message.topic, 'hex'))
        return
      case 'reply': {
        const pending = this.#pending.get(message.id)
        this.#pending.delete(message.id)
        if (message.error !== undefined) pending?.reject(new Error(message.error))
        else pending?.resolve(message.result)
        return
      }
      case 'peer-error':
        this.onPeerError?.(message.report)
        return
      case 'process':
        this.onProcessIssue?.(message.detail)
        return
      case 'acted':
        this.onActed?.(message.acted)
    }
  }

  #gone(child: ChildProcess): void {
    if (this.#child !== child) return
    this.#child = null
    this.#membership?.unregister().catch(() => {})
    this.#membership = null
    for (const pending of this.#pending.values()) {
      pending.reject(new Error(`child peer ${this.index} exited`))
    }
    this.#pending.clear()
  }
}
