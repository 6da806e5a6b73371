import {
  formatKey,
  InvalidKeyError,
  Multifeed,
  NotReadableError,
  parseKey,
  type Tier
} from '@multifeed/core'

/** Characters of an invite (`multi.invite`, `multi.mirrorInvite`): z-base-32 of 65 bytes. */
const INVITE_CHARS = 104

/**
 * A set named on the command line: whatever `Multifeed.open` takes, read
 * without opening anything. A key (64 hex or 52 z-base-32 characters: a
 * plain set's, an encrypted set's member or mirror key) or an invite (104
 * z-base-32 characters: a moderated set's, a moderated encrypted set's
 * member or mirror invite).
 */
export interface SetArgument {
  /** What `Multifeed.open` is given, and what the CLI prints: a key in z-base-32, an invite as given. */
  readonly text: string
  readonly form: 'key' | 'invite'
  /** What it opens: `plain`, `member` (reads and writes) or `mirror` (cannot read). */
  readonly tier: Tier
  /** The set's discovery key: how a store names it (`Multifeed.stored`), whatever the form. */
  readonly discoveryKey: Buffer
}

/** Reads `input` (ERR_INVALID_KEY, naming the argument `what`, when it is neither a key nor an invite). */
export function parseSet(input: string, what = 'KEY'): SetArgument {
  const form = input.length === INVITE_CHARS ? 'invite' : 'key'
  try {
    const tier = Multifeed.tierOf(input)
    const text = form === 'invite' ? input : formatKey(parseKey(input))
    return { text, form, tier, discoveryKey: Multifeed.discoveryKeyOf(input) }
  } catch (err) {
    if (!(err instanceof InvalidKeyError)) throw err
    throw new InvalidKeyError(
      form === 'invite'
        ? `${what} is no invite: ${err.message}`
        : `${what} must be a key (64 hex or 52 z-base-32 characters) or an invite (104 z-base-32 characters), got a string of ${input.length}`
    )
  }
}

/**
 * The set as a mirror should hold it: a member's key or invite gives its
 * mirror key or mirror invite (the mirror then cannot read the set); any
 * other as it is (a mirror's, or a plain or moderated set's: no mirror tier).
 */
export function mirrorOf(set: SetArgument): SetArgument {
  if (set.tier !== 'member') return set
  const text =
    set.form === 'invite'
      ? Multifeed.mirrorInviteOf(set.text)
      : formatKey(Multifeed.mirrorKeyOf(set.text))
  return { ...set, text, tier: 'mirror' }
}

/** What `set` is, in a few words ("a mirror invite", "a member key"…). */
export function kindOf(set: SetArgument): string {
  if (set.tier === 'plain') return set.form === 'invite' ? 'a moderated set’s invite' : 'a key'
  return `a ${set.tier} ${set.form}`
}

/**
 * `cat` and `seed` read or write the set: a mirror's key or invite cannot
 * (ERR_NOT_READABLE, as `multi.read()` of a mirror says), and is refused
 * before anything is opened.
 */
export function readable(set: SetArgument, command: string): SetArgument {
  if (set.tier !== 'mirror') return set
  throw new NotReadableError(
    `${set.text} is ${kindOf(set)}: a mirror cannot read the set, and ${command} needs a member's key or invite (a mirror's runs under \`multifeed mirror add\` and \`mirror run\`)`
  )
}
