/**
 * The two services core takes from Node's `process` rather than from a
 * module, each guarded so that core also runs on Bare (the Holepunch
 * runtime: no `process` global, no `worker_threads`). Modules are mapped
 * per runtime in package.json's `imports` (`events` → `bare-events`); these
 * two have no Bare module to map to, so they are looked up here, once.
 */

interface NodeProcess {
  emitWarning?: (warning: Error) => void
  getBuiltinModule?: (id: string) => unknown
}

const nodeProcess = (globalThis as { process?: NodeProcess }).process

/**
 * Reports a warning to whoever runs the process, never a throw: on Node
 * `process.emitWarning` (a `warning` event on `process`, printed to stderr
 * unless `--no-warnings`); on Bare, which has no warning channel,
 * `console.warn` (stderr).
 */
export function emitWarning(warning: Error): void {
  if (typeof nodeProcess?.emitWarning === 'function') nodeProcess.emitWarning(warning)
  else console.warn('Warning:', warning)
}

type Mark = (buffer: ArrayBufferLike) => void

/**
 * Node's `worker_threads.markAsUntransferable` (Node ≥ 20.16 and 22.3 hand
 * built-ins out synchronously through `process.getBuiltinModule`); null on
 * Bare and older Node, where buffers stay transferable.
 */
const mark: Mark | null = (() => {
  if (typeof nodeProcess?.getBuiltinModule !== 'function') return null
  const threads = nodeProcess.getBuiltinModule('worker_threads') as { markAsUntransferable?: Mark }
  return typeof threads?.markAsUntransferable === 'function' ? threads.markAsUntransferable : null
})()

/**
 * Marks a buffer that users get views of as untransferable, where the
 * runtime can: a view put in a transfer list (`postMessage`,
 * `structuredClone`) is then copied instead of detached.
 */
export function markAsUntransferable(buffer: ArrayBufferLike): void {
  if (mark !== null) mark(buffer)
}
