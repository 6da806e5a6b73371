/**
 * The deferred sketches of one channel open (minor 6, messages.ts
 * DEFERRED_SKETCH_MINOR), as a small state machine PeerChannel drives:
 *
 * - our open leaves its sketches out when the remote speaks minor ≥ 6 and
 *   the state hint of its token equals ours (`announce`): the sets are most
 *   likely equal, and an in-sync set then costs no sketch;
 * - once the remote's open is here (`compare`), a side whose open deferred
 *   its sketches sends one SKETCHES message only when a set proof differs
 *   all the same (a set that changed between its token and its open): the
 *   sketch of each summary that differs;
 * - a remote open that deferred its own sketches of a set that differs is
 *   complete once its SKETCHES arrived (`complete`); until then no other
 *   message of the channel may come.
 *
 * Both sides decide from the same two proofs, so each knows whether to send
 * and whether to wait: the owner always sees a complete open, in sync or
 * with both sketches of what differs.
 */
import { MalformedMessageError } from '../errors.js'
import {
  decodeSketches,
  encodeSketches,
  type Open,
  type RecordsSummary
} from '../protocol/messages.js'
import { secretsEqual, stateHint } from '../protocol/pairing.js'
import type { SharedSet } from './PeerHost.js'

/** What our open proved, and the sketches it deferred (sent if a proof differs). */
interface Announced {
  setProof: Buffer
  /** Our set as announced (its sketch memoised: read only when sent). */
  shared: SharedSet
  records?: RecordsSummary
  /** Our open carried no sketch. */
  deferred: boolean
}

/** What the remote's open needs before it is complete. */
interface Pending {
  remote: Open
  feeds: boolean
  records: boolean
}

export class DeferredSketches {
  #announced: Announced | null = null
  #pending: Pending | null = null

  /** True while the remote's open waits for the sketches it deferred. */
  get waiting(): boolean {
    return this.#pending !== null
  }

  /**
   * Our open announces `shared` under `setProof` (and a moderated set's
   * `records`): its sketches are deferred when `deferrable` (the remote
   * speaks minor ≥ 6) and `remoteHint` equals our state hint. Returns the
   * sketches the open carries.
   */
  announce(
    shared: SharedSet,
    setProof: Buffer,
    records: RecordsSummary | undefined,
    deferrable: boolean,
    remoteHint: Buffer | null
  ): Pick<Open, 'sketch' | 'records'> {
    const deferred =
      deferrable &&
      remoteHint !== null &&
      secretsEqual(remoteHint, stateHint(setProof, records?.setProof))
    this.#announced = {
      setProof,
      shared,
      deferred,
      ...(records !== undefined ? { records } : {})
    }
    this.#pending = null
    return {
      sketch: deferred ? [] : shared.sketch,
      ...(records !== undefined ? { records: deferred ? { ...records, sketch: [] } : records } : {})
    }
  }

  /**
   * The remote's open, its capability verified: our deferred sketches to
   * send (null: none), and whether its open is complete (false: it waits for
   * the remote's SKETCHES).
   */
  compare(remote: Open): { sketches: Buffer | null; complete: boolean } {
    const announced = this.#announced!
    const feeds = !secretsEqual(announced.setProof, remote.setProof)
    const records =
      announced.records !== undefined &&
      remote.records !== undefined &&
      !secretsEqual(announced.records.setProof, remote.records.setProof)
    let sketches: Buffer | null = null
    if (announced.deferred && (feeds || records)) {
      // Ours, of what differs: the remote needs them to size the reconciliation.
      sketches = encodeSketches({
        sketch: feeds ? announced.shared.sketch : [],
        ...(announced.records !== undefined
          ? { records: records ? announced.records.sketch : [] }
          : {})
      })
    }
    if (remote.sketch.length === 0 && (feeds || records)) {
      this.#pending = { remote, feeds, records }
      return { sketches, complete: false }
    }
    return { sketches, complete: true }
  }

  /** The remote's SKETCHES: its open, complete. Throws (MalformedMessageError) when out of step. */
  complete(raw: Buffer, moderated: boolean): Open {
    const pending = this.#pending
    if (pending === null) throw new MalformedMessageError('Unexpected sketches')
    this.#pending = null
    const { sketch, records = [] } = decodeSketches(raw, moderated)
    if ((pending.feeds && sketch.length === 0) || (pending.records && records.length === 0)) {
      throw new MalformedMessageError('A deferred sketch of a set that differs is missing')
    }
    pending.remote.sketch = sketch
    if (pending.remote.records !== undefined) pending.remote.records.sketch = records
    return pending.remote
  }

  /** The channel closed or refused: nothing is awaited any more. */
  reset(): void {
    this.#pending = null
  }
}
