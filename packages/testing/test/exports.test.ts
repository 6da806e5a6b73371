// Every package is imported by its published name and must resolve, through
// its `exports` map, to the built output: a broken map fails here.
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const packages = {
  '@multifeed/core': ['Multifeed', 'MultifeedError', 'ReplicationStream', 'sameCorestore'],
  '@multifeed/networker': ['Networker', 'InProcessNetworker'],
  '@multifeed/testing': ['runNetworkerConformance']
} as const

describe('published entry points', () => {
  for (const [name, names] of Object.entries(packages)) {
    it(`${name} resolves to its built dist/index.js and exports its API`, async () => {
      const resolved = fileURLToPath(import.meta.resolve(name))
      expect(resolved).toMatch(/packages\/[a-z-]+\/dist\/index\.js$/)
      const mod = (await import(name)) as Record<string, unknown>
      for (const exported of names)
        expect(typeof mod[exported], `${name}.${exported}`).toBe('function')
    })
  }
})
