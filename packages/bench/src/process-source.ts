// The two-process syncs (transport `process`, scenarios 1 and 2): the serving
// side in a child process (source-child.ts), the reader here, one TCP
// connection on 127.0.0.1 carrying the same replication stream as the
// in-process pipe. In one process both peers share one thread, so the serving
// side's work (opening each lazy core) adds to the reader's; real peers are
// separate machines. Each process's CPU time is measured on its own.
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Multifeed, ReplicationStream } from '@multifeed/core'
import type { Hypercore } from '@multifeed/holepunch-types'
import { cpuMs, now, withTimeout } from './clock.js'
import { trackRemoteFeeds, verifySynced } from './multi.js'
import { destroyStreams, noop } from './net.js'
import { freshStore, type SourceTemperature } from './raw.js'
import { SyncTracker } from './SyncTracker.js'
import { rmDir } from './tempStorage.js'
import type { Shape } from './types.js'

const CHILD = fileURLToPath(new URL('./source-child.js', import.meta.url))

/** One measured two-process sync: wall time, the reader's CPU and the serving process's. */
export interface ProcessSyncResult {
  ms: number
  cpuMs: number
  sourceCpuMs: number
  sourceOpen: number
}

/** A serving side (raw corestore or a multifeed of `shape`) in a child process. */
export class ProcessSource {
  private next = 0
  private readonly waiting = new Map<number, (reply: Record<string, unknown>) => void>()
  private stderr = ''
  private exited: Error | null = null

  private constructor(
    readonly side: 'raw' | 'multi',
    readonly shape: Shape,
    private readonly child: ChildProcess,
    readonly port: number,
    /** Raw: every core's key. Multi: the set's key, alone. */
    readonly keys: Buffer[]
  ) {}

  /** Spawns the child, which writes the source (setup, not measured; bounded by `timeoutMs`). */
  static async create(
    side: 'raw' | 'multi',
    shape: Shape,
    timeoutMs: number
  ): Promise<ProcessSource> {
    const child = spawn(
      process.execPath,
      [CHILD, side, String(shape.feeds), String(shape.blocks), String(shape.blockSize)],
      { stdio: ['pipe', 'pipe', 'pipe'] }
    )
    child.stdin!.on('error', noop)
    let stderr = ''
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    const lines = createInterface({ input: child.stdout! })
    const first = new Promise<Record<string, unknown>>((resolve, reject) => {
      lines.once('line', (line) => resolve(JSON.parse(line)))
      child.once('exit', (code) =>
        reject(
          new Error(
            `source child exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`
          )
        )
      )
    })
    let hello: Record<string, unknown>
    try {
      hello = await withTimeout(first, timeoutMs, `${side} source child setup`)
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    const keys =
      side === 'raw'
        ? (hello.keys as string[]).map((k) => Buffer.from(k, 'hex'))
        : [Buffer.from(hello.key as string, 'hex')]
    const source = new ProcessSource(side, shape, child, hello.port as number, keys)
    source.stderr = stderr
    child.stderr!.on('data', (d: Buffer) => {
      source.stderr += d.toString()
    })
    lines.on('line', (line) => {
      const reply = JSON.parse(line) as Record<string, unknown>
      const resolve = source.waiting.get(reply.id as number)
      source.waiting.delete(reply.id as number)
      resolve?.(reply)
    })
    child.once('exit', (code) => {
      source.exited = new Error(
        `source child exited ${code}: ${source.stderr.trim().split('\n').slice(-3).join(' | ')}`
      )
      for (const resolve of source.waiting.values()) resolve({ error: source.exited.message })
      source.waiting.clear()
    })
    return source
  }

  /** Sends one command and waits for its answer (an `error` in it rejects). */
  private async request(
    cmd: string,
    extra: Record<string, unknown> = {}
  ): Promise<Record<string, unknown>> {
    if (this.exited) throw this.exited
    const id = this.next++
    const reply = new Promise<Record<string, unknown>>((resolve) => this.waiting.set(id, resolve))
    this.child.stdin!.write(`${JSON.stringify({ id, cmd, ...extra })}\n`)
    const answer = await withTimeout(reply, 120_000, `source child ${cmd}`)
    if (typeof answer.error === 'string') throw new Error(answer.error)
    return answer
  }

  /** Warm or cold, as in one process (raw.ts, multi.ts `prepare`); resolves with the cores open. */
  async prepare(temperature: SourceTemperature): Promise<number> {
    return (await this.request('prepare', { temperature })).open as number
  }

  /** The child's CPU time so far, ms. */
  async cpu(): Promise<number> {
    return (await this.request('cpu')).cpuMs as number
  }

  /** Destroys the child's side of every connection. */
  async drop(): Promise<void> {
    await this.request('drop')
  }

  async close(): Promise<void> {
    if (!this.exited) await this.request('close').catch(noop)
    this.child.stdin!.end()
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await withTimeout(once(this.child, 'exit'), 10_000, 'source child exit').catch(() =>
        this.child.kill('SIGKILL')
      )
    }
  }

  /** A TCP connection to the child, its replication stream started by the child's side. */
  async connect(): Promise<net.Socket> {
    const socket = net.connect(this.port, '127.0.0.1')
    socket.setNoDelay(true)
    socket.on('error', noop)
    await once(socket, 'connect')
    return socket
  }
}

/**
 * One measured sync from a source in a child process. Timed from connect
 * (the TCP connect call) to synced; `cpuMs` is this (the reader's) process,
 * `sourceCpuMs` the child's over the same window (asked before the connect and
 * after synced, each one request outside the clock). Raw: the reader opens
 * every core by its key and downloads it (as rawSync); multifeed: the reader
 * learns the feeds through the protocol (as multiSync).
 */
export async function processSync(
  source: ProcessSource,
  timeoutMs: number,
  sourceOpen: number
): Promise<ProcessSyncResult> {
  const { shape } = source
  const reader = await freshStore(source.side === 'raw' ? 'proc-raw-dst' : 'proc-multi-dst')
  let multi: Multifeed | null = null
  let untrack = noop
  let socket: net.Socket | null = null
  let stream: ReturnType<typeof reader.store.replicate> | null = null
  const tracker = new SyncTracker(
    shape.feeds,
    shape.blocks,
    timeoutMs,
    `${source.side} process sync`
  )
  try {
    if (source.side === 'multi') {
      multi = await Multifeed.open(reader.store, source.keys[0]!)
      untrack = trackRemoteFeeds(multi, tracker)
    }
    const sourceCpu0 = await source.cpu()
    const cpu0 = cpuMs()
    const t0 = now()
    socket = await source.connect()
    const cores: Hypercore[] = []
    if (multi) {
      stream = ReplicationStream.for(reader.store, false).stream
      multi.attach(stream)
    } else {
      stream = reader.store.replicate(false)
      for (const key of source.keys) {
        const core = reader.store.get({ key })
        cores.push(core)
        tracker.add(core, key.toString('hex'))
      }
    }
    stream.on('error', noop)
    socket.pipe(stream).pipe(socket)
    await tracker.done
    const ms = now() - t0
    const cpu = cpuMs() - cpu0
    const sourceCpuMs = (await source.cpu()) - sourceCpu0
    if (multi) verifySynced(multi.feeds(), shape.feeds, shape.blocks)
    else SyncTracker.verify(cores, shape.feeds, shape.blocks)
    return { ms, cpuMs: cpu, sourceCpuMs, sourceOpen }
  } finally {
    untrack()
    tracker.stop()
    if (stream) await destroyStreams(stream)
    socket?.destroy()
    await source.drop().catch(noop)
    await multi?.close().catch(noop)
    await reader.store.close()
    await rmDir(reader.dir)
  }
}
