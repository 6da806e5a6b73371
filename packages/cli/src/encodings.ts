/** How `cat` prints an entry's bytes. */
export const ENCODINGS = ['utf-8', 'json', 'hex', 'base64'] as const
export type Encoding = (typeof ENCODINGS)[number]

export function isEncoding(name: string): name is Encoding {
  return (ENCODINGS as readonly string[]).includes(name)
}

/**
 * One line for an entry: utf-8 as it is, json re-serialized on one line (an entry that is not
 * JSON throws), hex and base64 of the bytes.
 */
export function show(value: Buffer, encoding: Encoding): string {
  switch (encoding) {
    case 'utf-8':
      return value.toString('utf-8')
    case 'json':
      return JSON.stringify(JSON.parse(value.toString('utf-8')))
    case 'hex':
    case 'base64':
      return value.toString(encoding)
  }
}
