// The Bare smoke suite: what a Bare app does with multifeed, run with brittle on the Bare
// runtime against the PACKED tarballs (tools/bare-smoke/run.mjs installs them in a fresh
// project and runs this file there; it also runs on Node: `node smoke.test.mjs`).
// Network: a loopback testnet on 127.0.0.1 only. Every test bounds its own time.
import { Multifeed, ReplicationStream } from '@multifeed/core'
import {
  createPeers,
  createTempCorestore,
  replicate,
  untilSynced,
  waitUntil
} from '@multifeed/testing'
import test from 'brittle'

const TEST_TIMEOUT = 60_000
const WAIT = { timeout: 20_000 }
const runtime = typeof Bare === 'object' ? `Bare ${Bare.version}` : `Node ${process.version}`

/** Two multifeeds of one key, each in a temporary corestore; closed by the test's teardown. */
async function twoPeers(t, options = {}) {
  const stores = [await createTempCorestore(), await createTempCorestore()]
  const a = await Multifeed.open(stores[0].corestore)
  const b = await Multifeed.open(stores[1].corestore, a.key, options)
  t.teardown(async () => {
    await a.close()
    await b.close()
    for (const store of stores) await store.close()
  })
  return [a, b]
}

async function append(multi, name, ...texts) {
  const writer = await multi.writer(name)
  await writer.append(texts.map((text) => Buffer.from(text)))
  const key = writer.key
  await writer.close()
  return key
}

async function blockText(multi, key, seq) {
  const core = await multi.get(key)
  try {
    return String(await core.get(seq, { wait: false }))
  } finally {
    await core.close()
  }
}

test(`runtime: ${runtime}`, (t) => {
  t.comment(runtime)
  t.pass()
})

test('two peers over a pipe replicate every writer', { timeout: TEST_TIMEOUT }, async (t) => {
  const [a, b] = await twoPeers(t)
  const ka = await append(a, 'main', 'a0', 'a1')
  const kb = await append(b, 'main', 'b0')
  const pipe = replicate(a, b)
  t.teardown(() => pipe.close())
  await untilSynced([a, b], WAIT)
  t.is(await blockText(b, ka, 1), 'a1')
  t.is(await blockText(a, kb, 0), 'b0')
  t.is(a.feeds().length, 2)
  t.alike(pipe.errors, [])
})

test('read() yields every block of every feed', { timeout: TEST_TIMEOUT }, async (t) => {
  const [a, b] = await twoPeers(t)
  const ka = await append(a, 'main', 'x0', 'x1', 'x2')
  const kb = await append(b, 'main', 'y0')
  const pipe = replicate(a, b)
  t.teardown(() => pipe.close())
  await untilSynced([a, b], WAIT)
  const read = []
  for await (const entry of b.read()) {
    t.absent(entry.error, 'every block decodes')
    read.push(
      `${entry.key.equals(ka) ? 'a' : entry.key.equals(kb) ? 'b' : '?'}${entry.seq}:${entry.value}`
    )
  }
  t.alike(read.sort(), ['a0:x0', 'a1:x1', 'a2:x2', 'b0:y0'])
})

test('remove with block: the feed leaves and never returns', {
  timeout: TEST_TIMEOUT
}, async (t) => {
  const [a, b] = await twoPeers(t)
  const ka = await append(a, 'first', 'one')
  const pipe = replicate(a, b)
  t.teardown(() => pipe.close())
  await untilSynced([a, b], WAIT)
  const removed = new Promise((resolve) => b.once('remove', resolve))
  await b.remove(ka, { block: true })
  t.is((await removed).key.toString('hex'), ka.toString('hex'), 'remove event')
  t.is(b.feed(ka), null, 'no longer listed')
  t.ok(
    b.blocked().some((key) => key.equals(ka)),
    'blocked'
  )
  // a keeps offering it; a second writer of a's arriving at b is the signal that a's
  // offers went through reconciliation since the block.
  await append(a, 'first', 'two')
  const kc = await append(a, 'second', 'late')
  await untilSynced([a], WAIT)
  await waitUntil(() => b.feed(kc)?.length === 1, { ...WAIT, message: 'the second writer at b' })
  t.is(b.feed(ka), null, 'the blocked feed stayed out')
})

test('the networker syncs two peers over a loopback testnet', {
  timeout: TEST_TIMEOUT
}, async (t) => {
  // createPeers: a testnet on 127.0.0.1; each peer's Hyperswarm gets dht: testnet.createNode().
  const peers = await createPeers(2)
  t.teardown(() => peers.close())
  const [alice, bob] = await peers.multifeed()
  const ka = await append(alice, 'main', 'hello over the testnet')
  const kb = await append(bob, 'main', 'and back')
  await untilSynced(peers, WAIT)
  t.is(await blockText(bob, ka, 0), 'hello over the testnet')
  t.is(await blockText(alice, kb, 0), 'and back')
  t.is(peers.at(0).networker.peers().length, 1, 'one proven peer')
})

/**
 * Collects the warnings core reports (a throwing hook or listener with no `callback-error`
 * listener): Node's process.emitWarning, or on Bare (no process) console.warn.
 */
function captureWarnings(t) {
  const warnings = []
  const warn = console.warn
  const onWarning = (warning) => warnings.push(warning)
  if (typeof Bare === 'object') {
    console.warn = (...args) => warnings.push(args.find((x) => x instanceof Error))
  } else process.on('warning', onWarning)
  t.teardown(() => {
    console.warn = warn
    if (typeof Bare !== 'object') process.off('warning', onWarning)
  })
  return warnings
}

test('a policy hook that throws: a warning, no crash, the rest syncs', {
  timeout: TEST_TIMEOUT
}, async (t) => {
  const warnings = captureWarnings(t)
  let refused = null
  const [a, b] = await twoPeers(t, {
    policy: {
      accept(key) {
        refused ??= key
        if (key.equals(refused)) throw new Error('the hook broke')
        return true
      }
    }
  })
  await append(a, 'first', 'refused')
  const pipe = replicate(a, b)
  t.teardown(() => pipe.close())
  await waitUntil(() => warnings.length > 0, { ...WAIT, message: 'a warning' })
  t.is(warnings[0]?.code, 'ERR_CALLBACK', 'reported as ERR_CALLBACK')
  t.is(warnings[0]?.cause?.message, 'the hook broke', 'the cause kept')
  // The connection lives on: a later feed is accepted and syncs.
  const kc = await append(a, 'second', 'accepted')
  await waitUntil(() => b.feed(kc)?.length === 1, { ...WAIT, message: 'the second writer at b' })
  t.is(await blockText(b, kc, 0), 'accepted')
  t.is(b.feed(refused), null, 'the throwing accept refused its key')
  t.alike(pipe.errors, [])
})

test('a pairing-concluded listener that throws: a warning, the stream lives on', {
  timeout: TEST_TIMEOUT
}, async (t) => {
  const warnings = captureWarnings(t)
  const [a, b] = await twoPeers(t)
  const ka = await append(a, 'main', 'after the throw')
  const s1 = a.replicate(true)
  const s2 = b.replicate(false)
  ReplicationStream.of(s1).once('pairing-concluded', () => {
    throw new Error('the listener broke')
  })
  s1.pipe(s2).pipe(s1)
  t.teardown(() => {
    s1.destroy()
    s2.destroy()
  })
  await waitUntil(() => warnings.length > 0, { ...WAIT, message: 'a warning' })
  t.is(warnings[0]?.code, 'ERR_CALLBACK', 'reported as ERR_CALLBACK')
  t.is(warnings[0]?.cause?.message, 'the listener broke', 'the cause kept')
  await untilSynced([a, b], WAIT)
  t.is(await blockText(b, ka, 0), 'after the throw')
  t.absent(s1.destroyed, 'the stream was not destroyed')
})
