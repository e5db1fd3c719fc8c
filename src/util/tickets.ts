// Data tickets (issue 20, Build 2): the scheduler gives each worker its own random secret in its
// welcome, and whenever it tells a reader (a worker fetching a dependency or a replica, a client
// gathering a result or scattering a value) to use key k at worker A, it gives the reader a ticket:
// an HMAC-SHA256 by A's secret over (what, reader's name, k), cut to 128 bits. A's data server
// serves k only to a connection whose hello named that reader and whose request carries the
// ticket; no message to A is needed, and a ticket is worth nothing at any other worker.
//
// SHA-256 is written out here, synchronous and the same in Node and browsers: SubtleCrypto is
// async and missing outside secure contexts (a tab on http://192.168.…), and a ticket is two
// compression rounds (the key's inner and outer states are computed once per secret).

const K = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
const W = new Uint32Array(64);

/** One SHA-256 compression of the 64 bytes at `block[at…]` into `h`. */
function compress(h: Uint32Array, block: Uint8Array, at: number): void {
  for (let i = 0; i < 16; i++) {
    const j = at + i * 4;
    W[i] = (block[j]! << 24) | (block[j + 1]! << 16) | (block[j + 2]! << 8) | block[j + 3]!;
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15]!;
    const b = W[i - 2]!;
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = (W[i - 16]! + s0 + W[i - 7]! + s1) | 0;
  }
  let a = h[0]!, b = h[1]!, c = h[2]!, d = h[3]!, e = h[4]!, f = h[5]!, g = h[6]!, k = h[7]!;
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (k + S1 + ((e & f) ^ (~e & g)) + K[i]! + W[i]!) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    k = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  h[0] = (h[0]! + a) | 0;
  h[1] = (h[1]! + b) | 0;
  h[2] = (h[2]! + c) | 0;
  h[3] = (h[3]! + d) | 0;
  h[4] = (h[4]! + e) | 0;
  h[5] = (h[5]! + f) | 0;
  h[6] = (h[6]! + g) | 0;
  h[7] = (h[7]! + k) | 0;
}

/** Scratch for padding messages, grown when a longer one comes (tickets are short). */
let scratch = new Uint8Array(256);

/** SHA-256 of `data[0…length]`, continuing from state `h` after `prefixBytes` bytes already compressed. */
function finish(h: Uint32Array, data: Uint8Array, length: number, prefixBytes: number): Uint32Array {
  const total = prefixBytes + length;
  const size = (length + 9 + 63) & ~63;
  if (scratch.length < size) scratch = new Uint8Array(size * 2);
  const padded = scratch;
  if (data !== padded) padded.set(data.subarray(0, length));
  padded.fill(0, length, size);
  padded[length] = 0x80;
  const bits = total * 8;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  padded[size - 8] = hi >>> 24;
  padded[size - 7] = hi >>> 16;
  padded[size - 6] = hi >>> 8;
  padded[size - 5] = hi;
  padded[size - 4] = lo >>> 24;
  padded[size - 3] = lo >>> 16;
  padded[size - 2] = lo >>> 8;
  padded[size - 1] = lo;
  for (let at = 0; at < size; at += 64) compress(h, padded, at);
  return h;
}

/** SHA-256 of `data` (exported for the tests, which check it against node:crypto). */
export function sha256(data: Uint8Array): Uint8Array {
  return wordsToBytes(finish(IV.slice(), data, data.length, 0));
}

function wordsToBytes(h: Uint32Array): Uint8Array {
  const out = new Uint8Array(32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) view.setUint32(i * 4, h[i]!);
  return out;
}

const encoder = new TextEncoder();
const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** The first 16 bytes of `bytes` in base64url (22 characters). */
function ticketText(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < 15; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    s += B64[n >>> 18]! + B64[(n >>> 12) & 63]! + B64[(n >>> 6) & 63]! + B64[n & 63]!;
  }
  return s + B64[bytes[15]! >>> 2]! + B64[(bytes[15]! & 3) << 4]!;
}

/**
 * The name the scheduler's challenge gives in its hello (scheduler/grants.ts). A data server does
 * not count its failures against the scheduler's address: a worker claiming another's address
 * would otherwise lock the scheduler's host out of an honest worker's data server.
 */
export const CHALLENGER = "scheduler-challenge";

/** What a ticket lets its holder do at the data server: read a key, or store it there (scatter). */
export type TicketUse = "get" | "put";

/** HMAC-SHA256 keyed by one worker's data secret, with the key's inner and outer states precomputed. */
export class TicketKey {
  private readonly inner = IV.slice();
  private readonly outer = IV.slice();

  constructor(secret: string) {
    let key: Uint8Array = encoder.encode(secret);
    if (key.length > 64) key = sha256(key);
    const pad = new Uint8Array(64);
    pad.set(key);
    for (let i = 0; i < 64; i++) pad[i]! ^= 0x36;
    compress(this.inner, pad, 0);
    for (let i = 0; i < 64; i++) pad[i]! ^= 0x36 ^ 0x5c;
    compress(this.outer, pad, 0);
  }

  /** HMAC-SHA256 of `message` (exported for the tests, which check it against node:crypto). */
  hmac(message: Uint8Array): Uint8Array {
    return this.mac(message, message.length);
  }

  private readonly h = new Uint32Array(8);
  private readonly innerHash = new Uint8Array(32);

  private mac(message: Uint8Array, length: number): Uint8Array {
    const h = this.h;
    h.set(this.inner);
    finish(h, message, length, 64);
    const ih = this.innerHash;
    for (let i = 0; i < 8; i++) {
      const w = h[i]!;
      ih[i * 4] = w >>> 24;
      ih[i * 4 + 1] = w >>> 16;
      ih[i * 4 + 2] = w >>> 8;
      ih[i * 4 + 3] = w;
    }
    h.set(this.outer);
    return wordsToBytes(finish(h, ih, 32, 64));
  }

  /** The ticket that lets `reader` (the name its hello gives) `use` `key` at this key's worker. */
  ticket(use: TicketUse, reader: string, key: string): string {
    const text = `${use}\n${reader}\n${key}`;
    if (scratch.length < text.length * 3 + 73) scratch = new Uint8Array(text.length * 6 + 146);
    const { written } = encoder.encodeInto(text, scratch);
    return ticketText(this.mac(scratch, written));
  }

  /** Whether `given` is the ticket for (use, reader, key): compared in constant time. */
  check(use: TicketUse, reader: string, key: string, given: unknown): boolean {
    if (typeof given !== "string" || given.length !== 22) return false;
    const expected = this.ticket(use, reader, key);
    let diff = 0;
    for (let i = 0; i < 22; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
    return diff === 0;
  }
}

/**
 * The hello token that opens a connection to a data server: one of the reader's tickets there,
 * with its use and key ("get:<ticket>:<key>"). A data server admits only readers the scheduler
 * has granted something, so a stranger's messages stay capped at a hello's size.
 */
export function opener(use: TicketUse, ticket: string, key: string): string {
  return `${use}:${ticket}:${key}`;
}

/** Whether a hello's `token` is an opener (see opener) that `key` made for the reader `name`. */
export function openedBy(key: TicketKey, name: unknown, token: unknown): boolean {
  if (typeof name !== "string" || typeof token !== "string") return false;
  const use = token.slice(0, 4);
  if ((use !== "get:" && use !== "put:") || token[26] !== ":") return false;
  return key.check(use === "get:" ? "get" : "put", name, token.slice(27), token.slice(4, 26));
}
