#!/usr/bin/env node
// The cross-process loopback-testnet stall (notes/testnet-stall.md), reproduced.
//
//   node tools/testnet-stall/probe.mjs [upstream|ours] [rounds] [--trace]   (after pnpm build)
//
// This process starts a testnet on 127.0.0.1 (`upstream`: hyperdht/testnet as it is, 3 nodes;
// `ours`: @multifeed/testing's createTestnet(), 3 routable nodes) and, each round, a member: a
// Hyperswarm on testnet.createNode() announcing a new topic. A child process (this file again)
// makes a Hyperswarm on new HyperDHT({ host: '127.0.0.1', bootstrap: every node }), as the
// `multifeed` command does, looks the topic up, and reports when bytes from the member arrived.
// A round stalls when none came within 20 s (a half-open first connection lasts ~14 s).
// --trace prints hyperdht's server side (handshake, NAT analysis, holepunch abort, raw stream)
// in this process and the client's LAN shortcut in the child.
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

const require = createRequire(new URL('../../packages/testing/package.json', import.meta.url))
const HyperDHT = require('hyperdht')
const Hyperswarm = require('hyperswarm')
const BOUND = 20_000
const trace = process.argv.includes('--trace')
const args = process.argv.slice(2).filter((a) => a !== '--trace')

if (args[0] === 'child') await child(args[1], args.slice(2))
else await main(args[0] ?? 'upstream', Number(args[1] ?? 6))

async function main(which, rounds) {
  if (trace) traceServer((line) => console.log(`  ${clock()} member: ${line}`))
  let testnet
  let close
  if (which === 'ours') {
    const { createTestnet } = await import('../../packages/testing/dist/index.js')
    const ours = await createTestnet()
    testnet = ours.testnet
    close = () => ours.close()
  } else {
    testnet = await require('hyperdht/testnet')(3, { host: '127.0.0.1' })
    close = () => testnet.destroy()
  }
  const bootstrap = testnet.nodes.map((node) => `127.0.0.1:${node.address().port}`)
  const results = []
  for (let round = 0; round < rounds; round++) {
    const member = new Hyperswarm({ dht: testnet.createNode() })
    member.on('connection', (conn) => {
      conn.on('error', () => {})
      conn.write('hello')
    })
    const topic = randomBytes(32)
    await member.join(topic, { server: true, client: false }).flushed()
    const said = await runChild(topic, bootstrap)
    results.push(said)
    console.log(`round ${round}: ${said}`)
    await member.destroy()
  }
  const stalled = results.filter((r) => !r.startsWith('bytes')).length
  console.log(
    `${which}: ${stalled} of ${rounds} rounds stalled (no bytes within ${BOUND / 1000} s)`
  )
  await close()
}

function runChild(topic, bootstrap) {
  return new Promise((resolve) => {
    const argv = [fileURLToPath(import.meta.url), 'child', topic.toString('hex'), ...bootstrap]
    if (trace) argv.push('--trace')
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (data) => {
      out += data
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), BOUND + 2000)
    child.on('close', () => {
      clearTimeout(timer)
      resolve(out.trim() || 'STALL (no output)')
    })
  })
}

async function child(topic, bootstrap) {
  const started = Date.now()
  const dht = new HyperDHT({ host: '127.0.0.1', bootstrap })
  if (trace) traceClient(dht, (line) => console.error(`  ${clock()} child:  ${line}`))
  const swarm = new Hyperswarm({ dht })
  const got = new Promise((resolve) => {
    swarm.on('connection', (conn) => {
      conn.on('error', () => {})
      conn.once('data', () => resolve(Date.now() - started))
    })
  })
  swarm.join(Buffer.from(topic, 'hex'), { server: false, client: true })
  const ms = await Promise.race([got, new Promise((resolve) => setTimeout(resolve, BOUND, null))])
  const attempts = swarm.stats.connects.client.attempted
  console.log(
    ms === null ? `STALL (${attempts} attempts)` : `bytes after ${ms} ms (${attempts} attempts)`
  )
  await swarm.destroy({ force: true })
}

/** The wall clock's seconds and milliseconds: the same in both processes. */
function clock() {
  return new Date().toISOString().slice(17, 23)
}

function traceServer(log) {
  const Server = require('hyperdht/lib/server')
  const Holepuncher = require('hyperdht/lib/holepuncher')
  const onHandshake = Server.prototype._onpeerhandshake
  Server.prototype._onpeerhandshake = async function (message, req) {
    const reply = await onHandshake.call(this, message, req)
    const hs = this._holepunches.filter(Boolean).at(-1)
    const stream = hs?.rawStream
    log(`handshake answered; raw stream ${stream?.id}`)
    stream?.on('connect', () => log(`raw stream ${stream.id} connected`))
    stream?.on('close', () => log(`raw stream ${stream.id} closed (rx ${stream.bytesReceived} B)`))
    return reply
  }
  const abort = Server.prototype._abort
  Server.prototype._abort = function (h, error) {
    log(
      `holepunch ABORTED: NAT ${h.puncher?.nat.firewall} (0 unknown), ${h.puncher?.nat.sampled} samples from ${this.dht.nodes.length} routed nodes`
    )
    return abort.call(this, h, error)
  }
  const analyze = Holepuncher.prototype.analyze
  Holepuncher.prototype.analyze = async function (reopen) {
    const stable = await analyze.call(this, reopen)
    if (!this.isInitiator)
      log(
        `NAT analysis: stable ${stable}, firewall ${this.nat.firewall}, ${this.nat.sampled} samples`
      )
    return stable
  }
}

function traceClient(dht, log) {
  const ping = dht.ping.bind(dht)
  dht.ping = (addr, options) => {
    const pinging = ping(addr, options)
    if (!options) {
      log(`LAN shortcut: ping ${addr.host}:${addr.port}`)
      pinging.then(
        () => log('LAN shortcut: pong'),
        () => log('LAN shortcut: no pong')
      )
    }
    return pinging
  }
  const createRawStream = dht.createRawStream.bind(dht)
  dht.createRawStream = (options) => {
    const stream = createRawStream(options)
    stream.on('connect', () =>
      log(`raw stream connected to ${stream.remotePort} (remote id ${stream.remoteId})`)
    )
    stream.on('close', () =>
      log(
        `raw stream closed: sent ${stream.bytesTransmitted} B, received ${stream.bytesReceived} B`
      )
    )
    return stream
  }
}
