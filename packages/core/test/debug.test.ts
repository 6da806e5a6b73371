/**
 * Debug logging (lifecycle/debug.ts): `enableDebug()` turns multifeed's
 * namespaces on and sends the lines to a function, which is how these tests
 * read them. Every wait is for a positive signal (an event), never a timer.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { enableDebug, type Multifeed } from '@multifeed/core'
import crypto from 'hypercore-crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { next, pipe, tmpDir } from './helpers.js'
import { open, replicationOf } from './support.js'

const short = (key: Buffer | null | undefined): string =>
  (key ?? Buffer.alloc(0)).toString('hex').slice(0, 8)

afterEach(() => {
  // Back to what the environment says (off unless DEBUG names them).
  enableDebug(process.env.DEBUG ?? '')
})

/**
 * Two peers of one set that share `shared` feeds (so that one appended block
 * is a small difference: coded symbols, not a list), `a` one writer ahead.
 */
async function twoPeers(shared = 20): Promise<{ a: Multifeed; b: Multifeed }> {
  const a = await open()
  const b = await open(null, a.key)
  for (let i = 0; i < shared; i++) {
    const key = crypto.keyPair().publicKey
    await a.add(key)
    await b.add(key)
  }
  const writer = await a.writer('main')
  await writer.append(Buffer.from('hello'))
  await writer.close()
  return { a, b }
}

/** Replicates a and b; resolves once both reconciled (the lines are written before the event). */
async function reconcile(a: Multifeed, b: Multifeed) {
  const reconciled = Promise.all([next(a, 'reconciled'), next(b, 'reconciled')])
  const link = pipe(a, b)
  await reconciled
  return link
}

describe('debug logging', () => {
  it('pairing and reconcile: lines for both peers, named by peer and set', async () => {
    const lines: string[] = []
    enableDebug('multifeed:pairing,multifeed:reconcile', { log: (line) => lines.push(line) })
    const { a, b } = await twoPeers()
    const link = await reconcile(a, b)
    const aPeer = short(replicationOf(link.a).noise.publicKey)
    const bPeer = short(replicationOf(link.b).noise.publicKey)
    const set = short(a.discoveryKey)

    // b names a (a's public key), a names b; the set by its discovery key.
    expect(lines).toContain(
      `multifeed:pairing peer ${aPeer} set ${set} capability verified (remote holds 21 feeds)`
    )
    expect(lines).toContain(
      `multifeed:pairing peer ${bPeer} set ${set} capability verified (remote holds 20 feeds)`
    )
    expect(lines).toContain(
      `multifeed:pairing peer ${aPeer} set ${set} paired: channel open sent (20 feeds)`
    )
    // a, the initiator, encodes; b decodes the one difference.
    expect(lines).toContain(
      `multifeed:reconcile peer ${bPeer} set ${set} begins (symbols, initiator): we hold 21 feeds, the peer 20`
    )
    const decoded = lines.find((l) =>
      l.startsWith(`multifeed:reconcile peer ${aPeer} set ${set} reconciled (symbols) in 1 rounds`)
    )
    expect(decoded).toMatch(
      /symbols sent 0, received [1-9]\d*; decoded 1 differences \(the peer lacks 0, we lack 1\)$/
    )
    const told = lines.find((l) =>
      l.startsWith(`multifeed:reconcile peer ${bPeer} set ${set} reconciled (symbols) in 1 rounds`)
    )
    expect(told).toMatch(/symbols sent [1-9]\d*, received 0; the peer named 1 differences$/)
    // Only the namespaces asked for.
    expect(lines.every((l) => /^multifeed:(pairing|reconcile) /.test(l))).toBe(true)
  })

  it('pairing concluded on the connection, per peer', async () => {
    const lines: string[] = []
    enableDebug('multifeed:pairing', { log: (line) => lines.push(line) })
    const a = await open()
    const b = await open(null, a.key)
    const link = pipe(a, b)
    const concluded = replicationOf(link.b)
    if (concluded.concluded === null) await next(concluded, 'pairing-concluded')
    expect(lines).toContain(
      `multifeed:pairing peer ${short(replicationOf(link.a).noise.publicKey)} pairing concluded (exchanged): 1 of our 1 multifeeds paired`
    )
  })

  it('attach: the core that differs attaches, named by its key', async () => {
    const lines: string[] = []
    enableDebug('multifeed:attach', { log: (line) => lines.push(line) })
    const { a, b } = await twoPeers(0)
    const link = await reconcile(a, b)
    await b.downloaded({ timeout: 10_000 })
    const feed = short(a.feeds()[0]!.key)
    const aPeer = short(replicationOf(link.a).noise.publicKey)
    expect(
      lines.find((l) =>
        l.startsWith(`multifeed:attach peer ${aPeer} set ${short(a.discoveryKey)} attach ${feed}`)
      )
    ).toBeDefined()
  })

  it('limits: a peer over maxFeeds is logged with the limit', async () => {
    const lines: string[] = []
    enableDebug('multifeed:*', { log: (line) => lines.push(line) })
    const { a } = await twoPeers(8)
    const b = await open(null, a.key, { limits: { maxFeeds: 4 } })
    const failed = next(b, 'peer-error')
    pipe(a, b)
    await failed
    expect(
      lines.some((l) =>
        /^multifeed:limits peer [0-9a-f]{8} set [0-9a-f]{8} ERR_LIMIT_EXCEEDED: .*\(channel closes\)$/.test(
          l
        )
      )
    ).toBe(true)
  })

  it('off: no line at all, for a whole sync', async () => {
    const lines: string[] = []
    enableDebug('', { log: (line) => lines.push(line) })
    const { a, b } = await twoPeers(4)
    await reconcile(a, b)
    await b.downloaded({ timeout: 10_000 })
    expect(b.feeds().length).toBe(5)
    expect(lines).toEqual([])
  })

  it('DEBUG syntax: wildcards and skips; a throwing log never reaches the protocol', async () => {
    const lines: string[] = []
    enableDebug('multifeed:*,-multifeed:attach,-multifeed:reconcile', {
      log: (line) => {
        lines.push(line)
        throw new Error('my logger broke')
      }
    })
    const warnings: Error[] = []
    const onWarning = (w: Error) => warnings.push(w)
    process.on('warning', onWarning)
    try {
      const { a, b } = await twoPeers(4)
      await reconcile(a, b)
      await b.downloaded({ timeout: 10_000 })
      expect(b.feeds().length).toBe(5)
    } finally {
      process.off('warning', onWarning)
    }
    expect(lines.length).toBeGreaterThan(0)
    expect(lines.every((l) => l.startsWith('multifeed:pairing '))).toBe(true)
    expect(warnings.length).toBeGreaterThan(0)
    expect(warnings[0]).toMatchObject({ code: 'ERR_CALLBACK', callback: 'enableDebug.log' })
  })

  it('DEBUG in the environment (Node): obug writes the lines to stderr', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/debug-env.mjs', import.meta.url))
    const run = async (debug: string | undefined) => {
      const [dirA, dirB] = [await tmpDir(), await tmpDir()]
      return promisify(execFile)(process.execPath, [fixture, dirA, dirB], {
        env: { ...process.env, DEBUG: debug, DEBUG_COLORS: 'no' },
        timeout: 30_000
      })
    }
    const on = await run('multifeed:reconcile')
    const off = await run(undefined)
    expect(on.stdout).toBe('reconciled\n')
    expect(on.stderr).toMatch(
      /multifeed:reconcile peer [0-9a-f]{8} set [0-9a-f]{8} reconciled \(list\)/
    )
    expect(on.stderr).not.toMatch(/multifeed:pairing/)
    expect(off.stdout).toBe('reconciled\n')
    expect(off.stderr).not.toMatch(/multifeed:/)
  })

  it('Bare: #obug maps to a build of obug that imports no Node built-in', () => {
    const pkgPath = fileURLToPath(new URL('../package.json', import.meta.url))
    const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'))
    const target = pkg.imports['#obug']
    // Bare matches the `node` condition too: `bare` must come first.
    expect(Object.keys(target)[0]).toBe('bare')
    const entry = createRequire(pkgPath).resolve(target.bare)
    const seen = new Set<string>()
    const visit = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      const text = readFileSync(file, 'utf8')
      expect(text, file).not.toMatch(/from\s*["']node:|require\(/)
      for (const [, rel] of text.matchAll(/from\s*["'](\.[^"']+)["']/g))
        visit(join(dirname(file), rel!))
    }
    visit(entry)
    expect(seen.size).toBeGreaterThan(1) // the entry and obug's core
  })

  it('strict: unknown options, a non-string, a non-function log', () => {
    expect(() => enableDebug('multifeed:*', { logger: () => {} } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/unknown option 'logger' \(accepted: log\)/)
      })
    )
    expect(() => enableDebug(true as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' })
    )
    expect(() => enableDebug('multifeed:*', { log: 'stderr' as never })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARGUMENT',
        message: expect.stringMatching(/log must be a function/)
      })
    )
  })
})
