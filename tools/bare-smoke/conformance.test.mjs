// The networker conformance suite of @multifeed/testing (every case, the Hyperswarm Networker
// on a loopback testnet, 127.0.0.1) with brittle on Bare: the harness and the networker as a
// Bare app's tests would use them. Run by tools/bare-smoke/run.mjs after smoke.test.mjs.
import { conformanceFactory, runNetworkerConformance } from '@multifeed/testing'
import test from 'brittle'

runNetworkerConformance(
  {
    // brittle has no describe (case names are prefixed instead) and counts assertions: a case
    // that resolves is one pass.
    test: (name, fn, timeout) =>
      test(name, { timeout }, async (t) => {
        await fn()
        t.pass()
      })
  },
  conformanceFactory({ networker: 'hyperswarm' })
)
