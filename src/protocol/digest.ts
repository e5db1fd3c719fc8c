// The digest of a serialized result that workers report when the scheduler verifies a task: SHA-256
// over the part count, each part's length, then the parts (header, frames). The lengths keep two
// values whose bytes differ only in where the header ends and a frame begins apart.

import type { Serialized } from "./refs.js";
import { jsSha256, type DigestMaker } from "../util/sha256.js";

export function digestOf(payload: Serialized, make: DigestMaker = jsSha256): string {
  const parts = 1 + payload.frames.length;
  const lengths = new Uint8Array(4 + 8 * parts);
  const dv = new DataView(lengths.buffer);
  dv.setUint32(0, parts);
  dv.setFloat64(4, payload.header.byteLength);
  payload.frames.forEach((f, i) => dv.setFloat64(12 + 8 * i, f.byteLength));
  const h = make();
  h.update(lengths);
  h.update(payload.header);
  for (const f of payload.frames) h.update(f);
  return h.hex();
}
