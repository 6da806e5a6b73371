// Child process of the two-process syncs (scenarios 1 and 2, transport
// `process`; parent side: process-source.ts): the serving side of a shape in a
// process of its own, as a real peer is on another machine, so that its work
// (its core opens above all) does not share a thread with the reader's.
//
//   source-child <raw|multi> <feeds> <blocks> <blockSize>
//
// Writes the source (raw.ts RawSource, multi.ts MultiSource: the same as in
// one process), listens on 127.0.0.1 and prints {"port", "keys"} (raw: every
// core's key) or {"port", "key"} (multi: the set's key). Every connection is
// replicated as the in-process pipe replicates (the source is the Noise
// initiator). Then it answers one JSON line per command read on stdin, each
// {"id", ...}: `prepare` (temperature warm|cold; answers the cores open),
// `cpu` (this process's CPU time so far, ms), `drop` (destroys the
// connections), `close` (closes the source and exits). Exits when stdin ends.
import { once } from 'node:events'
import net from 'node:net'
import { createInterface } from 'node:readline'
import type { Duplex } from 'node:stream'
import { ReplicationStream } from '@multifeed/core'
import { cpuMs } from './clock.js'
import { MultiSource } from './multi.js'
import { destroyStreams, noop } from './net.js'
import { openCoreCount, RawSource, type SourceTemperature } from './raw.js'

type Source = RawSource | MultiSource

function out(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`)
}

/** The source's replication stream on `socket`, as `rawPipe` / `pipeMultifeeds` make it in one process. */
function serve(source: Source, socket: net.Socket): Duplex {
  socket.setNoDelay(true)
  socket.on('error', noop)
  let stream: Duplex
  if (source instanceof RawSource) {
    stream = source.store.replicate(true)
  } else {
    stream = ReplicationStream.for(source.store, true).stream
    for (const m of source.multis) m.attach(stream)
  }
  stream.on('error', noop)
  stream.pipe(socket).pipe(stream)
  return stream
}

async function main(): Promise<void> {
  const [side, feeds, blocks, blockSize] = process.argv.slice(2)
  if (side !== 'raw' && side !== 'multi') throw new Error(`side is raw or multi, got ${side}`)
  const shape = { feeds: Number(feeds), blocks: Number(blocks), blockSize: Number(blockSize) }
  const source: Source =
    side === 'raw' ? await RawSource.create(shape) : await MultiSource.create(shape)
  const streams = new Set<Duplex>()
  const server = net.createServer((socket) => {
    const stream = serve(source, socket)
    streams.add(stream)
    stream.once('close', () => {
      streams.delete(stream)
      socket.destroy()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  out(
    source instanceof RawSource
      ? { port, keys: source.keys.map((k) => k.toString('hex')) }
      : { port, key: source.multi.key.toString('hex') }
  )
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    server.close()
    await destroyStreams(...streams)
    await source.close()
  }
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    const { id, cmd, temperature } = JSON.parse(line) as {
      id: number
      cmd: string
      temperature?: SourceTemperature
    }
    try {
      if (cmd === 'prepare') {
        await source.prepare(temperature!)
        out({ id, open: openCoreCount(source.store) })
      } else if (cmd === 'cpu') {
        out({ id, cpuMs: cpuMs() })
      } else if (cmd === 'drop') {
        await destroyStreams(...streams)
        out({ id })
      } else if (cmd === 'close') {
        await close()
        out({ id })
        break
      } else throw new Error(`unknown command ${cmd}`)
    } catch (err) {
      out({ id, error: err instanceof Error ? err.message : String(err) })
    }
  }
  await close()
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  }
)
