import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where the default store lives, given the environment (arguments for tests). */
export interface Place {
  platform: NodeJS.Platform
  env: NodeJS.ProcessEnv
  home: string
}

const here = (): Place => ({ platform: process.platform, env: process.env, home: homedir() })

/**
 * The default storage directory, under the user's data directory:
 * `$XDG_DATA_HOME/multifeed` or `~/.local/share/multifeed` on Linux and other Unixes,
 * `~/Library/Application Support/multifeed` on macOS, `%LOCALAPPDATA%\multifeed` on Windows.
 */
export function defaultStorage({ platform, env, home }: Place = here()): string {
  if (platform === 'darwin') return join(home, 'Library', 'Application Support', 'multifeed')
  if (platform === 'win32') {
    return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'multifeed')
  }
  // XDG: a relative XDG_DATA_HOME is invalid and is ignored.
  const xdg = env.XDG_DATA_HOME
  return join(xdg?.startsWith('/') ? xdg : join(home, '.local', 'share'), 'multifeed')
}
