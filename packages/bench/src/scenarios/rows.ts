// How every scenario (1–11) states a result row: the ratio multifeed / raw,
// `met` and empty samples filled in when the scenario leaves them out, and a
// failure written as `multifeed: …; raw: …`.
import type { Row } from '../types.js'

/** A row as a scenario writes it; `completeRow` fills in what is left out. */
export type RowInput = Omit<Row, 'ratio' | 'met' | 'samples'> & {
  /** Default: multifeed / raw when both exist. */
  ratio?: number | null
  met?: boolean | null
  samples?: Row['samples']
}

export function ratioOf(multi: number | null, raw: number | null): number | null {
  return multi !== null && raw !== null && raw > 0 ? multi / raw : null
}

/** The row with its ratio, `met` (null unless given) and samples (none unless given); no `error` key when there is none. */
export function completeRow(row: RowInput): Row {
  const full: Row = {
    ...row,
    samples: row.samples ?? { multifeed: [], raw: [] },
    ratio: row.ratio !== undefined ? row.ratio : ratioOf(row.multifeed, row.raw),
    met: row.met ?? null
  }
  if (full.error === undefined) delete full.error
  return full
}

/** What a caught failure says in a row and in a progress line. */
export function errorMessage(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err)
}

/** A row's `error`: each side's failure, labelled; undefined when neither failed. */
export function sideErrors(multi: string | undefined, raw: string | undefined): string | undefined {
  const parts = []
  if (multi) parts.push(`multifeed: ${multi}`)
  if (raw) parts.push(`raw: ${raw}`)
  return parts.length ? parts.join('; ') : undefined
}
