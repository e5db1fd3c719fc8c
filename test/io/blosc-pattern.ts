// The bytes of the C-Blosc fixtures (test/fixtures/io/make_blosc.py's `pattern`), computed again
// by the Node and browser tests of the decoder.

export interface BloscCase {
  file: string;
  kind: "smooth" | "random" | "runs";
  typesize: number;
  shuffle: number;
  split: string;
  n: number;
  flags: number;
  blocksize_used: number;
}

/** make_blosc.py's `pattern`, byte for byte. */
export function bloscPattern(kind: BloscCase["kind"], n: number, typesize: number): Uint8Array {
  const out = new Uint8Array(n * typesize);
  let h = 0x12345678;
  for (let i = 0; i < n; i++) {
    for (let b = 0; b < typesize; b++) {
      h = (Math.imul(h, 1103515245) + 12345) & 0x7fffffff;
      const noise = (h >>> 16) & 0xff;
      const k = i * typesize + b;
      if (kind === "random") out[k] = noise;
      else if (kind === "smooth") out[k] = b < typesize >> 1 ? noise : ((i >> 5) + 3 * b) & 0xff;
      else
        out[k] =
          k < Math.floor(out.length / 3)
            ? (k % 3) * 7
            : k < Math.floor((2 * out.length) / 3)
              ? 0x43
              : Math.floor(k / 1000) & 0xff;
    }
  }
  return out;
}
