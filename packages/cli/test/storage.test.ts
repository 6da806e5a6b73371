import { describe, expect, it } from 'vitest'
import { defaultStorage } from '../src/storage.js'

describe('the default store', () => {
  const home = '/home/u'
  it('is under XDG_DATA_HOME, or ~/.local/share, on Linux', () => {
    expect(defaultStorage({ platform: 'linux', env: { XDG_DATA_HOME: '/data' }, home })).toBe(
      '/data/multifeed'
    )
    expect(defaultStorage({ platform: 'linux', env: {}, home })).toBe(
      '/home/u/.local/share/multifeed'
    )
    // a relative XDG_DATA_HOME is invalid (XDG Base Directory spec): ignored
    expect(defaultStorage({ platform: 'linux', env: { XDG_DATA_HOME: 'rel' }, home })).toBe(
      '/home/u/.local/share/multifeed'
    )
  })

  it('follows the platform convention elsewhere', () => {
    expect(defaultStorage({ platform: 'darwin', env: { XDG_DATA_HOME: '/x' }, home })).toBe(
      '/home/u/Library/Application Support/multifeed'
    )
    expect(defaultStorage({ platform: 'win32', env: { LOCALAPPDATA: '/appdata' }, home })).toMatch(
      /^[/\\]appdata[/\\]multifeed$/
    )
  })
})
