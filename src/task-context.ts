// What a task of meshwork's own (a builtin) may take from the member that runs it: the stores it
// reads and writes data through (the worker's runtime's openers, path resolver and credentials) and
// the worker's logger. The worker's task loop calls builtins with the context as `this`
// (`fn.call(context, ...args)`); user task functions are called as before, with their arguments only.
//
// Why `this` and not a trailing argument or an ambient "current task": builtins are called with
// however many arguments their task has (the lazy wrappers pass `...args` on, some kernels take
// optional ones), so a trailing context would land in a different place per task; and a context set
// for the synchronous part of the call is gone after the builtin's first await (every io builtin
// awaits its code's import first), which AsyncLocalStorage would fix in Node only, not in tabs.
// `this` costs a builtin that ignores it nothing (arrow functions never see it), and one that wants
// it passes it on explicitly. Called without one (the local scheduler, a test), a builtin reads
// through the realm's stores, as before.

import type { Logger } from "./log.js";
import { realmStores, Stores } from "./io/store.js";

export interface TaskContext {
  /** The stores the running member reads and writes through (its runtime's). */
  readonly stores: Stores;
  /** The running member's logger. */
  readonly logger: Logger;
}

/** Where Stores come from: the Stores themselves, or anything that has some (a TaskContext, a Client, a Runtime). */
export type StoresSource = Stores | { readonly stores?: Stores | undefined } | null | undefined;

/** The stores of `source` (a task's `this`, a client, a runtime), else the realm's. */
export function storesOf(source: StoresSource | unknown): Stores {
  if (source === null || source === undefined || typeof source !== "object") return realmStores;
  if (source instanceof Stores) return source;
  return (source as { stores?: Stores }).stores ?? realmStores;
}
