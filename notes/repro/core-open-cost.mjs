// What opening a lazy core costs, and what two changes to hypercore 11.39.5
// would save (notes/first-sync-opens.md). Writes N cores of one 1 KiB block,
// then, with the store re-opened each time, opens all of them 64 at a time
// (`get({ key })` + `ready()`, what the serving side of a first sync does),
// alternating three variants in one process:
//   as-is     hypercore as installed
//   realloc   BitfieldSegment.add reallocates only when the page does not fit
//             (`end > length`; as installed `end >= length` rebuilds the
//             segment's quickbit DenseIndex a second time for every core of
//             at most one bitfield page, also every new empty one)
//   +point    and Bitfield.open reads a single page with a point get instead
//             of a RocksDB iterator
// The variants patch this process's copy of hypercore at run time only.
// Prints CPU per core (median of the reps) and the storage operations per open.
//   node notes/repro/core-open-cost.mjs [N=5000] [reps=4]
import { mkdtemp, rm } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const N = Number(process.argv[2] ?? 5000)
const REPS = Number(process.argv[3] ?? 4)
const fromCore = createRequire(new URL('../../packages/core/package.json', import.meta.url))
const Corestore = fromCore('corestore')
const fromStore = createRequire(fromCore.resolve('corestore'))
const Bitfield = createRequire(fromStore.resolve('hypercore'))('./lib/bitfield.js')
const fromStorage = createRequire(fromStore.resolve('hypercore-storage'))
const rocks = fromStorage.resolve('rocksdb-native').replace(/index\.js$/, '')
const { ReadBatch } = fromStorage(`${rocks}lib/batch.js`)
const Iterator = fromStorage(`${rocks}lib/iterator.js`)

// Storage operations, counted for the whole process.
const ops = { readBatches: 0, gets: 0, iterators: 0 }
const flush = ReadBatch.prototype._flush
ReadBatch.prototype._flush = function () {
  ops.readBatches++
  ops.gets += this._operations.length
  return flush.call(this)
}
const openIterator = Iterator.prototype._open
Iterator.prototype._open = function (cb) {
  ops.iterators++
  return openIterator.call(this, cb)
}

const Segment = new Bitfield(null)._segments.get(0).constructor
const add = Segment.prototype.add
const open = Bitfield.open
const WORDS_PER_PAGE = 1024
const PAGES_PER_SEGMENT = 64
function addIfNeeded(page) {
  const i = page.index - this.index * PAGES_PER_SEGMENT
  this.pages[i] = page
  const start = i * WORDS_PER_PAGE
  const end = start + WORDS_PER_PAGE
  if (end > this.bitfield.length) this.reallocate(end)
  page.bitfield = this.bitfield.subarray(start, end)
}
async function openOnePage(storage, length) {
  if (length === 0 || length > Bitfield.BITS_PER_PAGE) return open.call(this, storage, length)
  const rx = storage.read()
  const page = rx.getBitfieldPage(0)
  rx.tryFlush()
  const buffer = Buffer.alloc(Bitfield.BYTES_PER_PAGE)
  const value = await page
  if (value) buffer.set(value, 0)
  return new Bitfield(buffer)
}
const variants = {
  'as-is': [add, open],
  realloc: [addIfNeeded, open],
  '+point': [addIfNeeded, openOnePage]
}

const dir = await mkdtemp(join(tmpdir(), 'core-open-cost-'))
let store = new Corestore(dir)
const keys = []
async function pool(count, fn) {
  let next = 0
  const worker = async () => {
    while (next < count) await fn(next++)
  }
  await Promise.all(Array.from({ length: 64 }, worker))
}
await pool(N, async (i) => {
  const core = store.get({ name: `c${i}` })
  await core.ready()
  await core.append(Buffer.alloc(1024, 1))
  keys[i] = core.key
  await core.close()
})

const perCore = {}
for (let rep = 0; rep < REPS; rep++) {
  const names = Object.keys(variants)
  for (const name of rep % 2 ? names.reverse() : names) {
    ;[Segment.prototype.add, Bitfield.open] = variants[name]
    await store.close()
    store = new Corestore(dir)
    await store.ready()
    const before = { ...ops }
    const cpu = process.cpuUsage()
    const cores = []
    await pool(N, async (i) => {
      const core = store.get({ key: keys[i] })
      await core.ready()
      if (core.contiguousLength !== 1 || !(await core.has(0))) throw new Error('wrong core')
      cores.push(core)
    })
    const { user, system } = process.cpuUsage(cpu)
    perCore[name] = [...(perCore[name] ?? []), (user + system) / 1000 / N]
    const per = (k) => ((ops[k] - before[k]) / N).toFixed(1)
    if (rep === 0) {
      console.log(
        `${name}: per open ${per('readBatches')} read batches, ${per('gets')} gets, ${per('iterators')} iterators`
      )
    }
    for (const core of cores) await core.close()
  }
}
const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]
for (const [name, ms] of Object.entries(perCore)) {
  console.log(
    `${name.padEnd(8)} CPU ${median(ms).toFixed(3)} ms per core open (reps: ${ms.map((x) => x.toFixed(3)).join(', ')})`
  )
}
await store.close()
await rm(dir, { recursive: true, force: true })
