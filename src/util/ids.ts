// Short random identifiers and content hashes, from web-standard crypto only.

/** A random id of `bytes` random bytes in lowercase hex (default 8 bytes: 16 characters). */
export function randomId(bytes = 8): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * A fast 64-bit non-cryptographic hash (two lanes of 32-bit FNV-1a style mixing, then avalanche),
 * as 16 hex characters. For content-derived keys and code ids, where collisions between honest
 * inputs must be negligible but attackers are not a concern (tokens use randomId).
 */
export function hash64(...parts: (string | Uint8Array)[]): string {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193 ^ 0x5bd1e995;
  const mix = (x: number) => {
    h1 = Math.imul(h1 ^ x, 0x01000193);
    h2 = Math.imul(h2 ^ x, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  };
  for (const part of parts) {
    if (typeof part === "string") {
      for (let i = 0; i < part.length; i++) mix(part.charCodeAt(i));
      mix(part.length);
    } else {
      const n = part.byteLength;
      const words = n >>> 2;
      const dv = new DataView(part.buffer, part.byteOffset, n);
      for (let i = 0; i < words; i++) mix(dv.getUint32(i * 4, true));
      for (let i = words * 4; i < n; i++) mix(part[i]!);
      mix(n);
    }
    mix(0xffffffff);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}
