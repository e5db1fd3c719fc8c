// Short random identifiers and content hashes, from web-standard crypto only.

/** A random id of `bytes` random bytes in lowercase hex (default 8 bytes: 16 characters). */
export function randomId(bytes = 8): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * A fast 64-bit non-cryptographic hash (two 32-bit multiply-xor lanes, then an avalanche), as 16
 * hex characters. For content-derived keys and code ids, where collisions between honest inputs
 * must be negligible but attackers are not a concern (tokens use randomId).
 */
export function hash64(...parts: (string | Uint8Array)[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x2b6e1c4d;
  for (let p = 0; p < parts.length; p++) {
    const part = parts[p]!;
    let n: number;
    if (typeof part === "string") {
      n = part.length;
      for (let i = 0; i < n; i++) {
        const x = part.charCodeAt(i);
        h1 = Math.imul(h1 ^ x, 0x01000193);
        h2 = Math.imul(h2 ^ x, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
    } else {
      n = part.byteLength;
      const words = n >>> 2;
      const aligned = (part.byteOffset & 3) === 0;
      const u32 = aligned ? new Uint32Array(part.buffer, part.byteOffset, words) : null;
      for (let i = 0; i < words; i++) {
        const x = u32
          ? u32[i]!
          : part[4 * i]! | (part[4 * i + 1]! << 8) | (part[4 * i + 2]! << 16) | (part[4 * i + 3]! << 24);
        h1 = Math.imul(h1 ^ x, 0x01000193);
        h2 = Math.imul(h2 ^ x, 0x5bd1e995);
        h2 ^= h2 >>> 15;
      }
      for (let i = words * 4; i < n; i++) {
        h1 = Math.imul(h1 ^ part[i]!, 0x01000193);
        h2 = Math.imul(h2 ^ part[i]!, 0x5bd1e995);
      }
    }
    // Separate the parts, so ("ab", "c") and ("a", "bc") differ.
    h1 = Math.imul(h1 ^ n ^ 0x9e3779b9, 0x01000193);
    h2 = Math.imul(h2 ^ n ^ 0x7f4a7c15, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}
