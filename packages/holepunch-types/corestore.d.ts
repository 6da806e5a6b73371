// Types a project's own `import Corestore from 'corestore'` (corestore publishes no declarations):
// the default export is the constructor (`new Corestore(dir)`) and the instance type (a class
// field `store: Corestore`), both described by this package's `Corestore` interfaces.
//
// @multifeed/core's index.d.ts refers to this file (`/// <reference types=
// "@multifeed/holepunch-types/corestore" />`), so importing @multifeed/core is enough: no
// declaration of your own, no tsconfig setting, under npm and under pnpm (core depends on this
// package directly, so the reference resolves from core's own folder). Remove a
// `declare module 'corestore'` of your own: two would export two defaults (TS2528).
//
// A script (no top-level import): an ambient module declaration, not an augmentation.
declare module 'corestore' {
  import type {
    CorestoreConstructor,
    Corestore as CorestoreInstance
  } from '@multifeed/holepunch-types'

  /** A Corestore (an instance): `store: Corestore`. */
  type Corestore = CorestoreInstance
  /** `new Corestore(storage, options?)`. */
  const Corestore: CorestoreConstructor
  export default Corestore
}
