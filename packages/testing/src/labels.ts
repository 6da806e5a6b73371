const labels = new WeakMap<object, string>()

/** Names an object (a multifeed, a networker) in the messages of the waiters: `setLabel(multi, 'alice')`. */
export function setLabel(target: object, label: string): void {
  labels.set(target, label)
}

/** The label given by `setLabel()` (or by `createPeers()`), else `fallback`. */
export function labelOf(target: object, fallback: string): string {
  return labels.get(target) ?? fallback
}

/** The first 8 hex characters of a key, as the waiters print it. */
export function shortKey(key: Uint8Array | null | undefined): string {
  if (key === null || key === undefined) return '(no key yet)'
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('hex').slice(0, 8)
}
