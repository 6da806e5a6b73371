// Scenario 12, meshes (issue 13): every peer connected to every other, each
// writing its own feeds in every multifeed, until every peer holds every
// block. Multifeed (MultiMesh) against raw corestore replicating the same cores
// over the same kind of connections (RawMesh), a fresh mesh of each per rep,
// the order of the two alternating. Time to converge, blocks moved per second,
// CPU time, and the blocks some peer downloaded twice.

import { MultiMesh } from '../mesh/MultiMesh.js'
import { RawMesh } from '../mesh/RawMesh.js'
import { blocksToMove, type MeshRun, type MeshShape, meshName } from '../mesh/shape.js'
import { Loopback } from '../net.js'
import { fmtMs, progress } from '../progress.js'
import { med } from '../statistics.js'
import type { Transport } from '../types.js'
import type { ScenarioContext } from './context.js'
import { errorMessage, type RowInput, sideErrors } from './rows.js'

const SCENARIO = '12 mesh'

interface Side {
  runs: MeshRun[]
  error?: string
}

export async function meshes(ctx: ScenarioContext): Promise<void> {
  const { reps, transports, timeoutMs } = ctx.cfg
  for (const shape of ctx.cfg.mesh) {
    progress(`scenario 12: mesh of ${meshName(shape)}`)
    for (const t of transports) {
      const multi: Side = { runs: [] }
      const raw: Side = { runs: [] }
      const loopback = t === 'swarm' ? await Loopback.create() : null
      try {
        for (let rep = 0; rep < reps; rep++) {
          const order: Array<'raw' | 'multi'> = rep % 2 === 0 ? ['raw', 'multi'] : ['multi', 'raw']
          for (const which of order) {
            const side = which === 'raw' ? raw : multi
            if (side.error) continue
            try {
              const run = await measure(which, shape, t, loopback, timeoutMs)
              side.runs.push(run)
              progress(
                `  ${which === 'raw' ? 'raw' : 'multifeed'} ${t} rep ${rep + 1}: ${fmtMs(run.ms)}, ${Math.round(run.blocksPerSecond)} blocks/s, ${run.duplicates} downloaded twice, ${run.connections} connections`
              )
            } catch (err) {
              side.error = errorMessage(err)
              progress(`  ${which} ${t} failed: ${side.error}`)
            }
          }
        }
      } finally {
        await loopback?.close()
      }
      for (const row of rows(shape, t, multi, raw)) ctx.push(row)
    }
  }
}

async function measure(
  which: 'raw' | 'multi',
  shape: MeshShape,
  transport: Transport,
  loopback: Loopback | null,
  timeoutMs: number
): Promise<MeshRun> {
  const mesh = which === 'raw' ? await RawMesh.create(shape) : await MultiMesh.create(shape)
  try {
    return await mesh.sync(transport, loopback, timeoutMs)
  } finally {
    await mesh.close()
  }
}

function rows(shape: MeshShape, transport: Transport, multi: Side, raw: Side): RowInput[] {
  const error = sideErrors(multi.error, raw.error)
  const of = (side: Side, pick: (run: MeshRun) => number) => side.runs.map(pick)
  const base = { scenario: SCENARIO, case: meshName(shape), transport, error }
  const extra = {
    blocksToMove: blocksToMove(shape),
    connectionsMultifeed: med(of(multi, (r) => r.connections)) ?? Number.NaN,
    connectionsRaw: med(of(raw, (r) => r.connections)) ?? Number.NaN
  }
  const series = (pick: (run: MeshRun) => number) => {
    const samples = { multifeed: of(multi, pick), raw: of(raw, pick) }
    return { samples, multifeed: med(samples.multifeed), raw: med(samples.raw) }
  }
  const time = series((r) => r.ms)
  const ratio =
    time.multifeed !== null && time.raw !== null && time.raw > 0 ? time.multifeed / time.raw : null
  const speed = series((r) => r.blocksPerSecond)
  const twice = series((r) => r.duplicates)
  return [
    {
      ...base,
      metric: 'time to converge',
      unit: 'ms',
      ...time,
      target: '≤ 1.10×',
      met: ratio === null ? null : ratio <= 1.1,
      extra
    },
    { ...base, metric: 'blocks moved per second', unit: 'blocks/s', ...speed, target: null },
    {
      ...base,
      metric: 'CPU time (all peers)',
      unit: 'ms',
      ...series((r) => r.cpuMs),
      target: null
    },
    {
      ...base,
      metric: 'blocks downloaded twice',
      unit: 'count',
      ...twice,
      // raw corestore downloads some twice by design (hypercore's hotswap): no target on the ratio
      ratio: null,
      target: '0',
      met: twice.multifeed === null ? null : twice.multifeed === 0
    }
  ]
}
