// What the child processes of scenarios 9 and 14 share: memory measured after gc(),
// one JSON line per result on stdout, and a replication stream over TCP on 127.0.0.1
// (plain, or with frames split: the pairing-stall workaround).
import { once } from 'node:events'
import net from 'node:net'
import type { Duplex } from 'node:stream'
import { now, sleep } from './clock.js'
import { wireBytesOf } from './link.js'

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc
  if (g) {
    g()
    g()
  }
}

/** After gc(): V8's heap, the memory of ArrayBuffers (Buffers, typed arrays: outside the heap) and RSS. */
export function memory(): { heap: number; arrayBuffers: number; rss: number } {
  gc()
  const m = process.memoryUsage()
  return { heap: m.heapUsed, arrayBuffers: m.arrayBuffers, rss: m.rss }
}

export function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/**
 * A replication stream of ours over a TCP socket on 127.0.0.1. `split`: what
 * arrives is cut into secret-stream frames (3-byte little-endian length +
 * payload) written one per macrotask, as if each came in its own packet —
 * the workaround for the pairing stall when several frames arrive in one
 * chunk (notes/bench-findings.md, issue 7 §1).
 */
export function over(socket: net.Socket, stream: Duplex, split: boolean): void {
  socket.on('error', () => {})
  stream.on('error', () => {})
  socket.setNoDelay(true)
  stream.pipe(socket)
  if (!split) {
    socket.pipe(stream)
    return
  }
  let pending: Buffer = Buffer.alloc(0)
  const frames: Buffer[] = []
  let pumping = false
  const pump = (): void => {
    const frame = frames.shift()
    if (frame === undefined) {
      pumping = false
      return
    }
    stream.write(frame)
    setImmediate(pump)
  }
  socket.on('data', (data: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, data]) : data
    while (pending.length >= 3) {
      const length = pending[0]! | (pending[1]! << 8) | (pending[2]! << 16)
      if (pending.length < 3 + length) break
      frames.push(pending.subarray(0, 3 + length))
      pending = pending.subarray(3 + length)
    }
    if (!pumping) {
      pumping = true
      pump()
    }
  })
}

export async function connection(
  role: string
): Promise<{ socket: net.Socket; initiator: boolean }> {
  if (role === 'listen') {
    const server = net.createServer()
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const address = server.address()
    out({ port: typeof address === 'object' && address ? address.port : 0 })
    const [socket] = (await once(server, 'connection')) as [net.Socket]
    server.close()
    return { socket, initiator: false }
  }
  const socket = net.connect(Number(role), '127.0.0.1')
  await once(socket, 'connect')
  return { socket, initiator: true }
}

/** What a child measured of its open (before the connection). */
export interface Opened {
  /** Printed as they are: mode, feeds, openMs, and whatever the child adds. */
  fields: Record<string, unknown>
  before: ReturnType<typeof memory>
  opened: ReturnType<typeof memory>
  openCores: number
}

/**
 * Connects (`role`: listen, or the port to dial), runs `sync` over the socket until its
 * `done` (resolving with whether the peers were in sync) or `timeoutMs` (`stalled`),
 * prints the child's JSON line (open-scale.ts OpenMeasure), then stays connected until
 * stdin closes (the parent has both sides' lines).
 */
export async function syncAndReport(
  role: string,
  relay: string,
  timeoutMs: number,
  open: Opened,
  sync: (initiator: boolean) => { stream: Duplex; done: Promise<boolean | null> },
  cores: () => number
): Promise<void> {
  const { socket, initiator } = await connection(role)
  const t1 = now()
  const { stream, done } = sync(initiator)
  over(socket, stream, relay === 'split')
  let timer: NodeJS.Timeout | null = null
  const stalled = new Promise<'stalled'>((resolve) => {
    timer = setTimeout(() => resolve('stalled'), timeoutMs)
  })
  const result = await Promise.race([done, stalled])
  const syncMs = result === 'stalled' ? null : now() - t1
  if (timer) clearTimeout(timer)
  const synced = memory()
  const { before, opened } = open
  out({
    ...open.fields,
    syncMs,
    stalled: result === 'stalled',
    relay,
    inSync: result === 'stalled' ? null : result,
    heapBefore: before.heap,
    rssBefore: before.rss,
    heapOpen: opened.heap,
    rssOpen: opened.rss,
    heapSync: synced.heap,
    rssSync: synced.rss,
    openCores: open.openCores,
    syncCores: cores(),
    wireBytes: wireBytesOf(stream),
    arrayBuffersBefore: before.arrayBuffers,
    arrayBuffersOpen: opened.arrayBuffers,
    arrayBuffersSync: synced.arrayBuffers
  })
  process.stdin.resume()
  await Promise.race([once(process.stdin, 'end'), sleep(timeoutMs)])
}
