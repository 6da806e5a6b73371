/**
 * A feed as reconciliation sees it: an element of 40 bytes, its 32-byte key
 * followed by the length we hold of it (64-bit big-endian). Two peers hold
 * the same element exactly when they know the same feed at the same length,
 * so the symmetric difference of two sets of elements is what must travel:
 * new feeds, and feeds one side holds more of (one element on each side).
 */
export const ELEMENT_BYTES = 40
const KEY_BYTES = 32

export function elementOf(key: Buffer, length: number): Buffer {
  const element = Buffer.allocUnsafe(ELEMENT_BYTES)
  element.set(key, 0)
  return setElementLength(element, length)
}

/** Writes `length` into `element` in place (the same feed at another length); returns it. */
export function setElementLength(element: Buffer, length: number): Buffer {
  element.writeUInt32BE(Math.floor(length / 2 ** 32), KEY_BYTES)
  element.writeUInt32BE(length >>> 0, KEY_BYTES + 4)
  return element
}

export function keyOfElement(element: Buffer): Buffer {
  return Buffer.from(element.subarray(0, KEY_BYTES))
}

export function lengthOfElement(element: Buffer): number {
  return element.readUInt32BE(KEY_BYTES) * 2 ** 32 + element.readUInt32BE(KEY_BYTES + 4)
}
