/** A broken invariant: which, where (peer), when (event index) and what was seen. */
export interface Violation {
  invariant: string
  /** The peer it was seen on (-1: the process or the mesh as a whole). */
  peer: number
  /** Index of the last event run before it was seen (-1: before the first; events.length: final checks). */
  event: number
  detail: string
}

/** A check finds problems in what it is given; the runner adds the event index. */
export type Finding = Omit<Violation, 'event'>
