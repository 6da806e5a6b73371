/**
 * A link end of an in-process networker: a NoiseSecretStream over an
 * in-memory raw stream (as `InProcessHub` makes them), handed to the
 * networker at once, before the handshake completes.
 */
import NoiseSecretStream from '@hyperswarm/secret-stream'
import type { NoiseSecretStream as Connection } from '@multifeed/holepunch-types'
import type { HubEndpoint } from '@multifeed/networker'
import type { LinkEnd } from './LinkEnd.js'
import { queuedIn } from './queued.js'

export function localEnd(
  endpoint: HubEndpoint,
  initiator: boolean,
  remotePublicKey: Buffer
): LinkEnd {
  const stream: Connection = new NoiseSecretStream(initiator, null, { keyPair: endpoint.keyPair })
  const end = noiseEnd(stream)
  endpoint.onConnection(stream, remotePublicKey)
  return end
}

/** The link end of a Noise stream made with an in-memory raw stream (`rawStream` null). */
export function noiseEnd(stream: Connection): LinkEnd {
  return {
    raw: stream.rawStream,
    onClose: (listener) => {
      if (stream.destroyed) queueMicrotask(listener)
      else stream.once('close', listener)
    },
    destroy: () => stream.destroy(),
    queued: () => queuedIn(stream),
    stream
  }
}
