// Spilling results to disk in Node: one file per result in a directory of its own, written and
// read synchronously (the worker frees the memory right after writing). Each file holds the
// encoded value: a small index, the header, then the frames, each frame starting at a multiple of
// 8 bytes so typed arrays read back view the file's buffer without a copy.

import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Serialized } from "../../src/protocol/refs.js";
import type { SpillStore } from "../../src/worker/spill.js";

const align8 = (n: number) => (n + 7) & ~7;

/** A fresh directory for a worker's spilled results, under the system's temporary directory. */
export function makeSpillDirectory(name: string): string {
  return mkdtempSync(join(tmpdir(), `meshwork-spill-${name.replace(/[^\w.-]/g, "_")}-`));
}

export class DiskSpillStore implements SpillStore {
  private readonly files = new Map<string, string>();
  private counter = 0;

  constructor(readonly directory: string) {}

  write(key: string, value: Serialized): void {
    const parts = [value.header, ...value.frames];
    // Index: number of parts, then each part's length (float64: lengths may pass 4 GiB).
    const index = new Float64Array(1 + parts.length);
    index[0] = parts.length;
    parts.forEach((p, i) => (index[i + 1] = p.byteLength));
    let size = index.byteLength;
    for (const p of parts) size = align8(size) + p.byteLength;
    const out = new Uint8Array(size);
    out.set(new Uint8Array(index.buffer), 0);
    let at = index.byteLength;
    for (const p of parts) {
      at = align8(at);
      out.set(p, at);
      at += p.byteLength;
    }
    const file = join(this.directory, `${++this.counter}`);
    writeFileSync(file, out);
    const old = this.files.get(key);
    if (old) unlinkSync(old);
    this.files.set(key, file);
  }

  read(key: string): Serialized {
    const file = this.files.get(key);
    if (!file) throw new Error(`nothing spilled under ${key}`);
    const buf = readFileSync(file);
    // A Buffer may sit at any offset of a shared pool; copy to offset 0 if it is not 8-aligned.
    const bytes =
      buf.byteOffset % 8 === 0 ? new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) : new Uint8Array(buf);
    const count = new Float64Array(bytes.buffer, bytes.byteOffset, 1)[0]!;
    const lengths = new Float64Array(bytes.buffer, bytes.byteOffset + 8, count);
    const parts: Uint8Array[] = [];
    let at = 8 * (1 + count);
    for (const len of lengths) {
      at = align8(at);
      parts.push(bytes.subarray(at, at + len));
      at += len;
    }
    return new Serialized(parts[0]!, parts.slice(1));
  }

  remove(key: string): void {
    const file = this.files.get(key);
    if (!file) return;
    this.files.delete(key);
    rmSync(file, { force: true });
  }

  close(): void {
    this.files.clear();
    rmSync(this.directory, { recursive: true, force: true });
  }
}
