/**
 * Every error multifeed throws or emits is a `MultifeedError` with a stable
 * `code`. Each condition has its own subclass so that callers can use either
 * `err.code === 'ERR_CLOSED'` or `err instanceof ClosedError`.
 */
export type ErrorCode =
  | 'ERR_INVALID_KEY'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_CLOSED'
  | 'ERR_VERSION_MISMATCH'
  | 'ERR_CAPABILITY'
  | 'ERR_MALFORMED_MESSAGE'
  | 'ERR_LIMIT_EXCEEDED'
  | 'ERR_NOT_WRITABLE'
  | 'ERR_FOREIGN_CORESTORE'
  | 'ERR_TIMEOUT'
  | 'ERR_ABORTED'
  | 'ERR_STORAGE_CORRUPT'
  | 'ERR_CALLBACK'
  | 'ERR_UNKNOWN_FEED'
  | 'ERR_ALREADY_OPEN'
  | 'ERR_STORAGE'
  | 'ERR_ENCODING'
  | 'ERR_NOT_READABLE'
  | 'ERR_TIER_CONFLICT'

export class MultifeedError extends Error {
  readonly code: ErrorCode

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = 'MultifeedError'
  }
}

/** A key that is not 32 bytes, 64 hex characters or 52 z-base-32 characters. */
export class InvalidKeyError extends MultifeedError {
  override readonly name = 'InvalidKeyError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_KEY', message, options)
  }
}

/** An argument of the wrong type or out of range. */
export class InvalidArgumentError extends MultifeedError {
  override readonly name = 'InvalidArgumentError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_INVALID_ARGUMENT', message, options)
  }
}

/** The resource (multifeed, networker, peer) was closed. */
export class ClosedError extends MultifeedError {
  override readonly name = 'ClosedError'
  constructor(message = 'Resource is closed', options?: { cause?: unknown }) {
    super('ERR_CLOSED', message, options)
  }
}

/** The remote speaks another major version of the multifeed protocol. */
export class VersionMismatchError extends MultifeedError {
  override readonly name = 'VersionMismatchError'
  readonly usVersion: number
  readonly themVersion: number
  constructor(usVersion: number, themVersion: number) {
    super(
      'ERR_VERSION_MISMATCH',
      `Protocol major version mismatch: we speak ${usVersion}, the remote speaks ${themVersion}`
    )
    this.usVersion = usVersion
    this.themVersion = themVersion
  }
}

/** The remote could not prove that it knows the multifeed key. */
export class CapabilityError extends MultifeedError {
  override readonly name = 'CapabilityError'
  constructor(message = 'Remote capability did not verify: it does not know the multifeed key') {
    super('ERR_CAPABILITY', message)
  }
}

/** The remote sent bytes that do not decode as a protocol message. */
export class MalformedMessageError extends MultifeedError {
  override readonly name = 'MalformedMessageError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_MALFORMED_MESSAGE', message, options)
  }
}

/** A configured limit (keys per message, feeds per multifeed) was exceeded. */
export class LimitExceededError extends MultifeedError {
  override readonly name = 'LimitExceededError'
  readonly limit: string
  readonly max: number
  constructor(limit: string, max: number, message: string) {
    super('ERR_LIMIT_EXCEEDED', message)
    this.limit = limit
    this.max = max
  }
}

/** A writer was requested for a core whose secret key this store does not hold. */
export class NotWritableError extends MultifeedError {
  override readonly name = 'NotWritableError'
  constructor(message: string) {
    super('ERR_NOT_WRITABLE', message)
  }
}

/** A multifeed was handed to a networker built on another corestore. */
export class ForeignCorestoreError extends MultifeedError {
  override readonly name = 'ForeignCorestoreError'
  constructor(message = 'The multifeed lives in another corestore than the networker') {
    super('ERR_FOREIGN_CORESTORE', message)
  }
}

/** A bounded wait ran out of time. */
export class TimeoutError extends MultifeedError {
  override readonly name = 'TimeoutError'
  constructor(message: string) {
    super('ERR_TIMEOUT', message)
  }
}

/** An operation was cancelled through its AbortSignal. */
export class AbortedError extends MultifeedError {
  override readonly name = 'AbortedError'
  constructor(message = 'The operation was aborted', options?: { cause?: unknown }) {
    super('ERR_ABORTED', message, options)
  }
}

/** The local membership log holds a record that does not decode. */
export class StorageCorruptError extends MultifeedError {
  override readonly name = 'StorageCorruptError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORAGE_CORRUPT', message, options)
  }
}

/**
 * A callback of yours (a policy hook or an event listener) threw or rejected.
 * Multifeed isolates it from the protocol (no peer is blamed, nothing of ours
 * is left half-done) and reports it as a `callback-error` event, or as a
 * process warning when nobody listens. `cause` is what your code threw.
 */
export class CallbackError extends MultifeedError {
  override readonly name = 'CallbackError'
  /** Which callback: 'policy.accept', 'policy.share', or 'listener:<event>'. */
  readonly callback: string
  constructor(callback: string, cause: unknown) {
    super('ERR_CALLBACK', `${callback} threw: ${(cause as Error)?.message ?? String(cause)}`, {
      cause
    })
    this.callback = callback
  }
}

/** A feed key that is not in the set (`get()` of a key never added). */
export class UnknownFeedError extends MultifeedError {
  override readonly name = 'UnknownFeedError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_UNKNOWN_FEED', message, options)
  }
}

/** The multifeed key is open already in this corestore: open each key once and share the instance. */
export class AlreadyOpenError extends MultifeedError {
  override readonly name = 'AlreadyOpenError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_ALREADY_OPEN', message, options)
  }
}

/** A local storage operation failed (the disk, the corestore): our fault, never a peer's. */
export class StorageError extends MultifeedError {
  override readonly name = 'StorageError'
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_STORAGE', message, options)
  }
}

/**
 * A block and the set's `valueEncoding` disagree: `append()` of a value the
 * encoding would not read back (rejected, nothing written), or a block of
 * a feed that does not decode (`read()` reports it as an entry and goes on).
 * `cause` is the codec's error, if it threw.
 */
export class EncodingError extends MultifeedError {
  override readonly name = 'EncodingError'
  /** The feed's key (null when the session's key is not known yet). */
  readonly key: Buffer | null
  /** The block's index in the feed (for an append: the index it would have had). */
  readonly seq: number
  constructor(message: string, key: Buffer | null, seq: number, options?: { cause?: unknown }) {
    super('ERR_ENCODING', message, options)
    this.key = key
    this.seq = seq
  }
}

/**
 * The blocks of the set cannot be read here: a mirror of an encrypted set
 * (opened with `multi.mirrorKey`) stores and serves ciphertext and holds no
 * key to decrypt it, so `get()` and `read()` refuse.
 */
export class NotReadableError extends MultifeedError {
  override readonly name = 'NotReadableError'
  constructor(message: string) {
    super('ERR_NOT_READABLE', message)
  }
}

/**
 * One corestore holds an encrypted set as a member or as a mirror, never
 * both: the two would share the set's storage. Open the other tier in a
 * corestore of its own.
 */
export class TierConflictError extends MultifeedError {
  override readonly name = 'TierConflictError'
  constructor(message: string) {
    super('ERR_TIER_CONFLICT', message)
  }
}
