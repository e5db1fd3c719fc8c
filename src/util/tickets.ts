// Data tickets (issue 20, Build 2): the scheduler gives each worker its own random secret in its
// welcome, and whenever it tells a reader (a worker fetching a dependency or a replica, a client
// gathering a result or scattering a value) to use key k at worker A, it gives the reader a ticket:
// an HMAC-SHA256 by A's secret over (what, reader's name, k, expiry), cut to 128 bits, with the
// expiry (a time on the scheduler's clock) beside it. A's data server serves k only to a connection
// whose hello named that reader and whose request carries an unexpired ticket; no message to A is
// needed, and a ticket is worth nothing at any other worker, or after its expiry.
//
// SHA-256 (util/sha256.ts's compression) runs here synchronously, the same in Node and browsers: SubtleCrypto is
// async and missing outside secure contexts (a tab on http://192.168.…), and a ticket is two
// compression rounds (the key's inner and outer states are computed once per secret).

import { compress, SHA256_IV as IV } from "./sha256.js";

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

/**
 * What a data server makes of a ticket: made for this request and not expired; made for it but
 * past its expiry (the reader asks the scheduler for a fresh one: no failed login); or not a ticket
 * the scheduler made for this reader and key.
 */
export type TicketCheck = "valid" | "expired" | "invalid";

/** The 22 characters of the MAC, a dot, the expiry in base 36: at most 22 + 1 + 11 characters. */
const MAX_TICKET_CHARS = 34;

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

  /**
   * The ticket that lets `reader` (the name its hello gives) `use` `key` at this key's worker
   * until `expires` (whole milliseconds on the scheduler's clock, see DataGrants).
   */
  ticket(use: TicketUse, reader: string, key: string, expires: number): string {
    const e = Math.max(0, Math.ceil(expires)).toString(36);
    return `${this.macText(use, reader, key, e)}.${e}`;
  }

  private macText(use: TicketUse, reader: string, key: string, expires: string): string {
    const text = `${use}\n${reader}\n${key}\n${expires}`;
    if (scratch.length < text.length * 3 + 73) scratch = new Uint8Array(text.length * 6 + 146);
    const { written } = encoder.encodeInto(text, scratch);
    return ticketText(this.mac(scratch, written));
  }

  /**
   * Whether `given` is the ticket for (use, reader, key) (its MAC compared in constant time), and
   * whether it has expired at `now` on the scheduler's clock.
   */
  check(use: TicketUse, reader: string, key: string, given: unknown, now: number): TicketCheck {
    if (typeof given !== "string" || given.length > MAX_TICKET_CHARS || given[22] !== ".") return "invalid";
    const e = given.slice(23);
    if (!/^[0-9a-z]{1,11}$/.test(e)) return "invalid";
    const expected = this.macText(use, reader, key, e);
    let diff = 0;
    for (let i = 0; i < 22; i++) diff |= given.charCodeAt(i) ^ expected.charCodeAt(i);
    if (diff !== 0) return "invalid";
    return Number.parseInt(e, 36) < now ? "expired" : "valid";
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

/**
 * Whether a hello's `token` is an opener (see opener) that `key` made for the reader `name`. An
 * expired one opens too: the reader was granted that key once, and each request is checked (with
 * its expiry) anyway; refusing it would make an honest reader with an old ticket look like a stranger.
 */
export function openedBy(key: TicketKey, name: unknown, token: unknown): boolean {
  if (typeof name !== "string" || typeof token !== "string") return false;
  const use = token.slice(0, 4);
  const end = token.indexOf(":", 4);
  if ((use !== "get:" && use !== "put:") || end < 0) return false;
  return key.check(use === "get:" ? "get" : "put", name, token.slice(end + 1), token.slice(4, end), 0) === "valid";
}
