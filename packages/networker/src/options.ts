/**
 * The checks of what a user hands the networker: the options of
 * `new Networker(corestore, options)`, the corestore of any networker, and
 * the options of `swarm()`.
 */
import { InvalidArgumentError } from '@multifeed/core'
import type { Corestore } from '@multifeed/holepunch-types'
import { InProcessHub } from './InProcessHub.js'
import type { AnyMultifeed, NetworkerOptions } from './NetworkerInterface.js'

/** Options that configure the swarm we create: meaningless with a given `swarm`. */
const SWARM_CREATION = [
  'dht',
  'ownsDht',
  'bootstrap',
  'keyPair',
  'maxPeers',
  'firewall',
  'host'
] as const

const KNOWN = new Set<string>(['swarm', 'ownsSwarm', ...SWARM_CREATION])

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function hasMethods(value: unknown, names: string[]): boolean {
  return isObject(value) && names.every((name) => typeof value[name] === 'function')
}

function isBuffer(value: unknown, length: number): boolean {
  return Buffer.isBuffer(value) && value.byteLength === length
}

function isPort(value: unknown): boolean {
  return Number.isInteger(value) && (value as number) >= 0 && (value as number) <= 65535
}

function checkKeyPair(kp: unknown): void {
  if (!isObject(kp) || !isBuffer(kp.publicKey, 32) || !isBuffer(kp.secretKey, 64)) {
    throw new InvalidArgumentError(
      'keyPair must be { publicKey: 32-byte Buffer, secretKey: 64-byte Buffer }'
    )
  }
}

/** `'host:port'` (hyperdht also takes `'suggested-ip@host:port'`) or `{ host, port }`. */
function isBootstrapNode(node: unknown): boolean {
  if (typeof node === 'string') {
    const m = /^(?:[^@\s]+@)?([^:\s@]+):(\d+)$/.exec(node)
    return m !== null && isPort(Number(m[2]))
  }
  return isObject(node) && typeof node.host === 'string' && node.host !== '' && isPort(node.port)
}

/** Checks every option of `new Networker(corestore, options)`; throws ERR_INVALID_ARGUMENT. */
export function validateNetworkerOptions(options: unknown): NetworkerOptions {
  if (options === undefined) return {}
  if (!isObject(options)) {
    throw new InvalidArgumentError('Networker options must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new InvalidArgumentError(
        `Unknown Networker option '${key}' (known: ${[...KNOWN].join(', ')})`
      )
    }
  }
  const o = options as NetworkerOptions & Record<string, unknown>
  const given = (key: string): boolean => o[key] !== undefined
  if (given('swarm')) {
    if (!hasMethods(o.swarm, ['join', 'leave', 'on', 'off', 'destroy'])) {
      throw new InvalidArgumentError('swarm must be a Hyperswarm')
    }
    if (o.swarm!.destroyed) throw new InvalidArgumentError('The given swarm is destroyed')
    const extra = SWARM_CREATION.filter(given)
    if (extra.length > 0) {
      throw new InvalidArgumentError(
        `Give either a swarm or the options to create one (${extra.join(', ')}), not both`
      )
    }
  }
  if (given('ownsSwarm')) {
    if (typeof o.ownsSwarm !== 'boolean')
      throw new InvalidArgumentError('ownsSwarm must be a boolean')
    if (!given('swarm')) {
      throw new InvalidArgumentError(
        'ownsSwarm applies to a given swarm (a swarm we create is ours)'
      )
    }
  }
  if (given('dht')) {
    if (!hasMethods(o.dht, ['createServer', 'connect', 'announce', 'lookup', 'destroy', 'on'])) {
      throw new InvalidArgumentError('dht must be a HyperDHT node')
    }
    if (o.dht!.destroyed) throw new InvalidArgumentError('The given dht is destroyed')
    for (const key of ['bootstrap', 'host']) {
      if (given(key)) {
        throw new InvalidArgumentError(`${key} configures the DHT we create: not with a given dht`)
      }
    }
  }
  if (given('ownsDht')) {
    if (typeof o.ownsDht !== 'boolean') throw new InvalidArgumentError('ownsDht must be a boolean')
    if (!given('dht')) {
      throw new InvalidArgumentError('ownsDht applies to a given dht (a DHT we create is ours)')
    }
  }
  if (given('bootstrap')) {
    if (!Array.isArray(o.bootstrap) || !o.bootstrap.every(isBootstrapNode)) {
      throw new InvalidArgumentError(
        "bootstrap must be an array of 'host:port' strings or { host, port } objects"
      )
    }
  }
  if (given('host') && !isHost(o.host)) {
    throw new InvalidArgumentError(
      "host must be the IP address the DHT we create binds to (e.g. '127.0.0.1')"
    )
  }
  if (given('keyPair')) checkKeyPair(o.keyPair)
  if (given('maxPeers')) {
    if (!Number.isInteger(o.maxPeers) || (o.maxPeers as number) < 1) {
      throw new InvalidArgumentError('maxPeers must be a positive integer')
    }
  }
  if (given('firewall') && typeof o.firewall !== 'function') {
    throw new InvalidArgumentError('firewall must be a function (remotePublicKey) => boolean')
  }
  return o
}

/** Checks the options of `new InProcessNetworker(corestore, options)`; throws ERR_INVALID_ARGUMENT. */
export function validateInProcessOptions(options: unknown): void {
  if (options === undefined) return
  if (!isObject(options))
    throw new InvalidArgumentError('InProcessNetworker options must be an object')
  for (const key of Object.keys(options)) {
    if (key !== 'hub' && key !== 'keyPair') {
      throw new InvalidArgumentError(
        `Unknown InProcessNetworker option '${key}' (known: hub, keyPair)`
      )
    }
  }
  if (options.hub !== undefined && !(options.hub instanceof InProcessHub)) {
    throw new InvalidArgumentError('hub must be an InProcessHub')
  }
  if (options.keyPair !== undefined) checkKeyPair(options.keyPair)
}

/** Null when `options` of swarm() are valid, else why not. */
export function checkSwarmOptions(options: unknown): string | null {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return 'swarm() options must be an object'
  }
  for (const [key, value] of Object.entries(options)) {
    if (key !== 'announce' && key !== 'lookup') {
      return `Unknown swarm() option '${key}' (known: announce, lookup)`
    }
    if (value !== undefined && typeof value !== 'boolean')
      return `swarm() option ${key} must be a boolean`
  }
  return null
}

/** An IPv4 address, or an IPv6 one (what a UDP socket binds to; no host name). */
function isHost(value: unknown): boolean {
  if (typeof value !== 'string') return false
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(value)
  if (v4 !== null) return v4.slice(1).every((octet) => Number(octet) <= 255)
  return value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value)
}

/** True when `value` is a multifeed (what swarm() and leave() take), by its shape. */
export function isMultifeed(value: unknown): value is AnyMultifeed {
  if (typeof value !== 'object' || value === null) return false
  const m = value as Record<string, unknown>
  return (
    Buffer.isBuffer(m.discoveryKey) &&
    isCorestore(m.corestore) &&
    ['attach', 'detach', 'on', 'off'].every((name) => typeof m[name] === 'function')
  )
}

/** True when `value` has the methods of a Corestore that a networker uses. */
export function isCorestore(value: unknown): value is Corestore {
  if (typeof value !== 'object' || value === null) return false
  const store = value as Record<string, unknown>
  return ['get', 'replicate', 'session', 'findingPeers'].every(
    (name) => typeof store[name] === 'function'
  )
}
