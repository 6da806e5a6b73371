// Many multifeed first syncs between two processes over TCP, looking for the
// stall of notes/first-sync-processes.md §2 (one of 11 syncs stopped with 0 CPU
// for 9 minutes at 10,000 × 1). The serving side runs in a child process (this
// file with `child`), cold before every sync (store and sets re-opened: no feed
// core open), as the bench's `process` rows; the reader here, a fresh store
// each sync. A sync in which no feed completes for `--stallS` seconds is a stall: both sides' state is
// printed (cores open, inflight requests, Protomux channels and pending bytes,
// the streams' buffers, the multifeed peers, the last debug lines) and the run
// goes on with the next sync. See notes/tcp-first-sync-stall.md.
//
//   pnpm build && node notes/repro/tcp-first-sync-stall.mjs [options]
//     --feeds 10000 --blocks 1 --runs 20   the shape and how many syncs
//     --sets 1          multifeeds of that shape, all on one connection
//     --slowMs 0        reader: each chunk read from the socket waits this long
//     --hwm 0           both sockets' highWaterMark (0: Node's default)
//     --stallS 60       no progress for this long is a stall
//     --idleMs 0        the reader's idleTimeout (0: the default, 5 s)
//     --stopOnStall     end at the first stall (the child stays for a look)
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import net from 'node:net'
import { createInterface } from 'node:readline'
import { Transform } from 'node:stream'
import { fileURLToPath } from 'node:url'
import { MultiSource } from '../../packages/bench/dist/multi.js'
import { freshStore, openCoreCount } from '../../packages/bench/dist/raw.js'
import { rmDir } from '../../packages/bench/dist/tempStorage.js'
import { enableDebug, Multifeed, ReplicationStream } from '../../packages/core/dist/index.js'

const args = process.argv.slice(2)
const role = args[0] === 'child' ? 'child' : 'parent'
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`)
  if (i === -1) return fallback
  const v = args[i + 1]
  return v === undefined || v.startsWith('--') ? true : Number.isNaN(Number(v)) ? v : Number(v)
}
const feeds = opt('feeds', 10000)
const blocks = opt('blocks', 1)
const sets = opt('sets', 1)
const hwm = opt('hwm', 0)
const noop = () => {}

// The last debug lines (multifeed:*), kept for a stall's dump.
// Attach lines are counted, not kept (two a feed), except the detaches.
const lines = []
const detaches = {}
enableDebug('multifeed:*', {
  log: (line) => {
    if (line.startsWith('multifeed:attach')) {
      const why = / detach \w+ \((.*)\)$/.exec(line)?.[1]
      if (why === undefined) return
      detaches[why] = (detaches[why] ?? 0) + 1
      if (detaches[why] > 3) return
    }
    lines.push(`${new Date().toISOString().slice(11, 23)} ${line}`)
    if (lines.length > 60) lines.shift()
  }
})
const resetCounters = () => {
  lines.length = 0
  for (const k of Object.keys(detaches)) delete detaches[k]
}

/** What one side holds of one connection, for a stall's dump. */
function connectionState(rs, socket) {
  const mux = rs.mux
  const pending = []
  for (let i = 0; i < mux._remote.length; i++) {
    const r = mux._remote[i]
    if (r !== null && r.pending !== null) pending.push(r.pending.length)
  }
  let pairing = 0
  let incoming = 0
  let outgoing = 0
  for (const info of new Set(mux._infos.values())) {
    pairing += info.pairing
    incoming += info.incoming.length
    outgoing += info.outgoing.length
  }
  const noise = rs.noise
  const rstate = noise._readableState
  const wstate = noise._writableState
  return {
    mux: {
      paused: mux._paused,
      buffered: mux._buffered,
      drained: mux.drained,
      corked: mux.corked ?? mux._corked,
      remoteBacklog: mux._remoteBacklog,
      localSessions: mux._local.filter((s) => s !== null).length,
      remoteChannels: mux._remote.filter((r) => r !== null).length,
      remotePending: pending.length,
      remotePendingMessages: pending.reduce((a, b) => a + b, 0),
      infos: new Set(mux._infos.values()).size,
      pairing,
      incoming,
      outgoing
    },
    noise: {
      paused: noise.constructor.isPaused?.(noise) ?? null,
      readableBuffered: rstate?.buffered,
      writableBuffered: wstate?.buffered,
      rawBufferedOut: noise.rawStream?._writableState?.buffered,
      rawBufferedIn: noise.rawStream?._readableState?.buffered,
      destroyed: noise.destroyed
    },
    socket: socket && {
      bytesRead: socket.bytesRead,
      bytesWritten: socket.bytesWritten,
      paused: socket.isPaused(),
      readableLength: socket.readableLength,
      writableLength: socket.writableLength,
      needDrain: socket.writableNeedDrain,
      readableFlowing: socket.readableFlowing
    },
    pairingChannel: rs.pairing,
    concluded: rs.concluded?.how ?? null
  }
}

/** The cores of `store`, with their peers on `mux`. */
function coreState(store, mux, expected) {
  let open = 0
  let withPeer = 0
  let inflight = 0
  let coresInflight = 0
  let short = 0
  let shortNoPeer = 0
  const examples = []
  for (const core of store.cores) {
    if (!core.opened) continue
    open++
    const peers = core.replicator?.peers ?? []
    const peer = peers.find((p) => p.protomux === mux)
    if (peer) {
      withPeer++
      inflight += peer.inflight
      if (peer.inflight > 0) coresInflight++
    }
    const length = core.state?.length ?? core.length
    if (expected !== undefined && length < expected) {
      // the set's own core may be short too: one line more
      short++
      if (!peer) shortNoPeer++
      if (examples.length < 4) {
        examples.push({
          dk: core.discoveryKey.toString('hex').slice(0, 8),
          length,
          contiguous: core.state?.contiguousLength ?? core.contiguousLength,
          peers: peers.length,
          peerHere: !!peer,
          inflight: peer?.inflight,
          remoteLength: peer?.remoteLength,
          remoteContiguous: peer?.remoteContiguousLength,
          channelOpened: peer?.channel?.opened,
          channelClosed: peer?.channel?.closed,
          sessions: core.sessions?.length,
          attachedMux: core.replicator?.attached?.(mux)
        })
      }
    }
  }
  return {
    open,
    openCoreCount: openCoreCount(store),
    withPeer,
    inflight,
    coresInflight,
    short,
    shortNoPeer,
    examples
  }
}

function multifeedState(multis, rs) {
  return multis.map((multi) => {
    const peers = multi.peers()
    const infos = multi.feeds()
    let complete = 0
    for (const info of infos) if (info.length >= blocks) complete++
    return {
      feeds: infos.length,
      complete,
      openCores: multi.openCores,
      peers: peers.map((p) => ({
        opened: p.opened,
        closed: p.closed,
        reconciled: p.reconciled,
        attached: p.attachedCount,
        sameStream: p.replication === rs
      }))
    }
  })
}

// ---- child: the serving side ------------------------------------------------

async function child() {
  const shape = { feeds, blocks, blockSize: 1024 }
  const source = await MultiSource.create(shape, sets)
  const conns = new Set()
  const server = net.createServer(hwm ? { highWaterMark: hwm } : {}, (socket) => {
    socket.setNoDelay(true)
    socket.on('error', noop)
    const rs = ReplicationStream.for(source.store, true)
    for (const m of source.multis) m.attach(rs.stream)
    rs.stream.on('error', noop)
    rs.stream.pipe(socket).pipe(rs.stream)
    const conn = { rs, socket }
    conns.add(conn)
    rs.stream.once('close', () => {
      conns.delete(conn)
      socket.destroy()
    })
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const out = (v) => process.stdout.write(`${JSON.stringify(v)}\n`)
  out({ port: server.address().port, keys: source.multis.map((m) => m.key.toString('hex')) })
  for await (const line of createInterface({ input: process.stdin })) {
    const { id, cmd } = JSON.parse(line)
    try {
      if (cmd === 'cold') {
        await source.prepare('cold')
        resetCounters()
        out({ id, open: openCoreCount(source.store) })
      } else if (cmd === 'cpu') {
        const u = process.cpuUsage()
        out({ id, cpuMs: (u.user + u.system) / 1000 })
      } else if (cmd === 'dump') {
        out({
          id,
          connections: [...conns].map(({ rs, socket }) => ({
            ...connectionState(rs, socket),
            cores: coreState(source.store, rs.mux),
            multifeeds: multifeedState(source.multis, rs)
          })),
          openCores: openCoreCount(source.store),
          detaches,
          debug: lines
        })
      } else if (cmd === 'drop') {
        for (const { rs } of conns) rs.stream.destroy()
        conns.clear()
        out({ id })
      } else if (cmd === 'close') {
        server.close()
        await source.close()
        out({ id })
        break
      }
    } catch (err) {
      out({ id, error: String(err?.stack ?? err) })
    }
  }
  process.exit(0)
}

// ---- parent: the reader -----------------------------------------------------

class Child {
  static async start() {
    const argv = [fileURLToPath(import.meta.url), 'child', ...args]
    const proc = spawn(process.execPath, argv, { stdio: ['pipe', 'pipe', 'inherit'] })
    const rl = createInterface({ input: proc.stdout })
    const c = new Child(proc)
    const hello = await new Promise((resolve, reject) => {
      rl.once('line', (l) => resolve(JSON.parse(l)))
      proc.once('exit', (code) => reject(new Error(`child exited ${code}`)))
    })
    rl.on('line', (l) => {
      const msg = JSON.parse(l)
      c.waiting.get(msg.id)?.(msg)
      c.waiting.delete(msg.id)
    })
    c.port = hello.port
    c.keys = hello.keys.map((k) => Buffer.from(k, 'hex'))
    return c
  }
  constructor(proc) {
    this.proc = proc
    this.waiting = new Map()
    this.next = 0
  }
  request(cmd) {
    const id = this.next++
    const p = new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`child ${cmd}: no answer in 300 s`)), 300_000)
      this.waiting.set(id, (m) => {
        clearTimeout(t)
        m.error ? reject(new Error(m.error)) : resolve(m)
      })
    })
    this.proc.stdin.write(`${JSON.stringify({ id, cmd })}\n`)
    return p
  }
}

function throttle(ms) {
  return new Transform({
    transform(chunk, _enc, cb) {
      setTimeout(() => cb(null, chunk), ms)
    }
  })
}

const cpuNow = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}
const load = async () =>
  (await import('node:os'))
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')

async function oneSync(child, run) {
  await child.request('cold')
  const reader = await freshStore('stall-reader')
  const multis = []
  const idleMs = opt('idleMs', 0)
  for (const key of child.keys) {
    multis.push(await Multifeed.open(reader.store, key, idleMs ? { idleTimeout: idleMs } : {}))
  }
  const childCpu0 = (await child.request('cpu')).cpuMs
  const cpu0 = cpuNow()
  const t0 = Date.now()
  const socket = net.connect({
    port: child.port,
    host: '127.0.0.1',
    ...(hwm ? { highWaterMark: hwm } : {})
  })
  socket.setNoDelay(true)
  socket.on('error', noop)
  await once(socket, 'connect')
  const rs = ReplicationStream.for(reader.store, false)
  for (const m of multis) m.attach(rs.stream)
  rs.stream.on('error', noop)
  const slowMs = opt('slowMs', 0)
  if (slowMs > 0) socket.pipe(throttle(slowMs)).pipe(rs.stream).pipe(socket)
  else socket.pipe(rs.stream).pipe(socket)
  const expected = feeds * sets
  const completeNow = () => {
    let n = 0
    for (const m of multis) for (const info of m.feeds()) if (info.length >= blocks) n++
    return n
  }
  const stallMs = opt('stallS', 60) * 1000
  let last = { complete: -1, bytes: -1 }
  let lastChange = Date.now()
  let result = 'synced'
  let stalledBytes = 0
  // the longest time no feed completed once the first one did (the window the sweep sees as quiet)
  let lastComplete = 0
  let firstCompleteMs = -1
  let maxGapMs = 0
  let lastCompleteAt = 0
  for (;;) {
    const complete = completeNow()
    if (complete > 0 && firstCompleteMs < 0) firstCompleteMs = Date.now() - t0
    if (complete !== lastComplete) {
      if (lastComplete > 0) maxGapMs = Math.max(maxGapMs, Date.now() - lastCompleteAt)
      lastComplete = complete
      lastCompleteAt = Date.now()
    }
    if (complete >= expected) break
    // Bytes may still move in a stall (channels closing, re-opening): only completions count.
    const bytes = socket.bytesRead + socket.bytesWritten
    if (complete !== last.complete) {
      last = { complete, bytes }
      lastChange = Date.now()
    } else if (Date.now() - lastChange > stallMs) {
      result = 'STALL'
      stalledBytes = bytes - last.bytes
      break
    }
    await new Promise((r) => setTimeout(r, 200))
  }
  const ms = Date.now() - t0
  const cpu = cpuNow() - cpu0
  const childCpu = (await child.request('cpu')).cpuMs - childCpu0
  const summary = {
    run,
    result,
    wallS: +(ms / 1000).toFixed(1),
    readerCpuS: +(cpu / 1000).toFixed(2),
    servingCpuS: +(childCpu / 1000).toFixed(2),
    complete: completeNow(),
    expected,
    firstCompleteS: +(firstCompleteMs / 1000).toFixed(1),
    maxGapS: +(maxGapMs / 1000).toFixed(1),
    detaches: { ...detaches },
    bytesMovedWhileStalled: stalledBytes,
    load: await load()
  }
  console.log(JSON.stringify(summary))
  if (result === 'STALL') {
    // a second look after a few seconds: CPU while stalled
    const c1 = cpuNow()
    const cc1 = (await child.request('cpu')).cpuMs
    await new Promise((r) => setTimeout(r, 5000))
    const stalledCpu = {
      reader: +(cpuNow() - c1).toFixed(1),
      serving: +((await child.request('cpu')).cpuMs - cc1).toFixed(1)
    }
    const dump = {
      stalledCpuMsIn5s: stalledCpu,
      reader: {
        ...connectionState(rs, socket),
        cores: coreState(reader.store, rs.mux, blocks),
        multifeeds: multifeedState(multis, rs),
        debug: lines
      },
      serving: await child.request('dump')
    }
    console.log(JSON.stringify(dump, null, 1))
    if (opt('stopOnStall', false)) {
      console.log(
        `stopped: the child (pid ${child.proc.pid}) and this process (pid ${process.pid}) stay up; Ctrl-C ends both`
      )
      await new Promise(() => {})
    }
  }
  rs.stream.destroy()
  socket.destroy()
  await child.request('drop')
  for (const m of multis) await m.close().catch(noop)
  await reader.store.close()
  await rmDir(reader.dir)
  resetCounters()
  return summary
}

async function parent() {
  const runs = opt('runs', 20)
  console.log(
    JSON.stringify({
      feeds,
      blocks,
      sets,
      runs,
      slowMs: opt('slowMs', 0),
      hwm,
      idleMs: opt('idleMs', 0),
      stallS: opt('stallS', 60),
      load: await load(),
      started: new Date().toISOString()
    })
  )
  const child = await Child.start()
  const results = []
  try {
    for (let run = 1; run <= runs; run++) results.push(await oneSync(child, run))
  } finally {
    await child.request('close').catch(noop)
    child.proc.kill()
  }
  const stalls = results.filter((r) => r.result === 'STALL').length
  console.log(
    JSON.stringify({
      done: results.length,
      stalls,
      load: await load(),
      ended: new Date().toISOString()
    })
  )
}

if (role === 'child') await child()
else await parent()
