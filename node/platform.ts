// Node's pieces for the isomorphic core: yielding to the event loop, and the bundler that
// client.upload uses. Imported by every Node entry point.

import { setClientPlatform } from "../src/internal.js";
import { bundleModule } from "./bundle.js";

/** Lets pending I/O run: setImmediate runs after I/O callbacks, without a timer's minimum delay. */
export function nodeYield(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

setClientPlatform({ bundle: bundleModule });
