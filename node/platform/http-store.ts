// http:// stores in Node: a small HTTP/1.1 client over node:net that reads each response body
// straight into the buffer it will live in (`net.connect({ onread })` picks the buffer for every
// socket read, as ws-client.ts does for WebSocket frames), on keep-alive connections. fetch
// (undici) hands a 22 MB chunk over in 64 kB pieces, each a fresh buffer: in the Zarr benchmark's
// workers that cost ~12 ms of garbage collection and ~9 ms of stream machinery per chunk, and the
// mean over HTTP took ~2.0 s against ~1.1 s this way.
//
// Only what stores ask: GET of a value or a byte range, with a Content-Length. Anything else
// (redirects, chunked or compressed bodies, 1xx) is left to the core's fetch-based store, as is
// https:. A keep-alive connection the server closed while idle is retried once on a new one.

import { connect, type Socket } from "node:net";
import { StoreError } from "../../src/errors.js";
import { HttpStore, realmStores, type ByteRange, type Store, type Stores } from "../../src/io/store.js";

/** A response head larger than this is refused (ours are a few hundred bytes). */
const MAX_HEAD_BYTES = 64 * 1024;
/** Idle keep-alive connections kept per host. */
const MAX_IDLE_PER_HOST = 8;
/**
 * An idle connection is closed after this long: before the server's own timeout (Node's servers
 * close idle connections after 5 s), so a request rarely meets a connection closing under it.
 * Idle connections do not keep the process alive.
 */
const IDLE_CLOSE_MS = 4000;

interface Head {
  status: number;
  statusText: string;
  /** Body length, or -1 when the response has no usable Content-Length (then fetch takes over). */
  length: number;
  keepAlive: boolean;
}

/** What a request does with a response: where its body goes, given the head (null: read and dropped). */
type BodyPlace = (head: Head) => Uint8Array | null;

/** The outcome: the head and the body, or "fetch" when this client does not handle the response. */
type Outcome = { head: Head; body: Uint8Array | null } | "fetch";

const idle = new Map<string, Connection[]>();

class Connection {
  readonly socket: Socket;
  private readonly scratch = Buffer.allocUnsafeSlow(MAX_HEAD_BYTES);
  private headBytes: Buffer = Buffer.alloc(0);
  private head: Head | null = null;
  private body: Uint8Array | null = null;
  private got = 0;
  /** The request in flight: how to place its body, and how to settle it. */
  private current: { place: BodyPlace; resolve(o: Outcome): void; reject(e: Error): void; received: boolean } | null =
    null;
  closed = false;

  constructor(
    readonly hostKey: string,
    host: string,
    port: number,
  ) {
    this.socket = connect({
      host,
      port,
      onread: {
        buffer: () => this.nextBuffer(),
        callback: (n: number, buf: Uint8Array) => {
          this.onRead(n, buf);
          return true;
        },
      },
    });
    this.socket.setNoDelay(true);
    this.socket.on("timeout", () => this.close()); // only set while idle
    this.socket.on("error", (err) => this.fail(err));
    this.socket.on("close", () => this.fail(new Error("the server closed the connection")));
  }

  /** Sends a GET; settles with the response once its body is read. */
  request(path: string, host: string, headers: Record<string, string>, place: BodyPlace): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.socket.ref(); // a request in flight keeps the process alive, as fetch's do
      this.socket.setTimeout(0);
      this.current = { place, resolve, reject, received: false };
      this.headBytes = Buffer.alloc(0);
      this.head = null;
      this.body = null;
      this.got = 0;
      let text = `GET ${path} HTTP/1.1\r\nHost: ${host}\r\n`;
      for (const [k, v] of Object.entries(headers)) text += `${k}: ${v}\r\n`;
      this.socket.write(`${text}Connection: keep-alive\r\n\r\n`);
    });
  }

  /** Where the next socket read goes: the rest of the body's buffer once the head is read. */
  private nextBuffer(): Uint8Array {
    if (this.head && this.body) return this.body.subarray(this.got);
    if (this.head) return this.scratch.subarray(0, Math.min(this.scratch.length, this.head.length - this.got)); // dropped
    return this.scratch;
  }

  private onRead(n: number, buf: Uint8Array): void {
    const req = this.current;
    if (!req) {
      this.socket.destroy(); // bytes nobody asked for: the connection cannot be trusted
      return;
    }
    req.received = true;
    if (this.head) {
      this.got += n; // read in place (or into the scratch, dropped)
      this.maybeDone();
      return;
    }
    this.headBytes = this.headBytes.length
      ? Buffer.concat([this.headBytes, buf.subarray(0, n)])
      : Buffer.from(buf.subarray(0, n));
    const end = this.headBytes.indexOf("\r\n\r\n");
    if (end < 0) {
      if (this.headBytes.length >= MAX_HEAD_BYTES) this.fail(new Error("the response head is too large"));
      return;
    }
    const head = parseHead(this.headBytes.subarray(0, end).toString("latin1"));
    const rest = this.headBytes.subarray(end + 4);
    if (!head || head.length < 0 || rest.length > head.length) {
      // Not ours to read (or more bytes than the body): the connection is dropped, fetch asks again.
      this.finish("fetch", false);
      return;
    }
    this.head = head;
    try {
      this.body = req.place(head);
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    if (this.body && this.body.length !== head.length) {
      this.fail(new Error(`a buffer of ${this.body.length} bytes for a body of ${head.length}`));
      return;
    }
    this.body?.set(rest, 0);
    this.got = rest.length;
    this.maybeDone();
  }

  private maybeDone(): void {
    if (this.head && this.got >= this.head.length)
      this.finish({ head: this.head, body: this.body }, this.head.keepAlive);
  }

  private finish(outcome: Outcome, reuse: boolean): void {
    const req = this.current!;
    this.current = null;
    this.head = null; // idle: what arrives now goes to the scratch (and closes the connection)
    this.body = null;
    if (reuse) giveBack(this);
    else this.close();
    req.resolve(outcome);
  }

  private fail(err: Error): void {
    this.close();
    const req = this.current;
    this.current = null;
    if (req) req.reject(Object.assign(err, { beforeResponse: !req.received }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    const list = idle.get(this.hostKey);
    const i = list?.indexOf(this) ?? -1;
    if (i >= 0) list!.splice(i, 1);
    this.socket.destroy();
  }
}

function parseHead(text: string): Head | null {
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/.exec(lines[0] ?? "");
  if (!m) return null;
  const status = Number(m[2]);
  let length = -1;
  let keepAlive = m[1] === "1";
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-length" && /^\d+$/.test(value)) length = Number(value);
    else if (name === "transfer-encoding" || (name === "content-encoding" && value.toLowerCase() !== "identity"))
      return null;
    else if (name === "connection") keepAlive = value.toLowerCase() !== "close";
  }
  if (status < 200 || (status >= 300 && status < 400) || status === 204 || status === 304) return null;
  return { status, statusText: m[3] ?? "", length, keepAlive };
}

function giveBack(c: Connection): void {
  const list = idle.get(c.hostKey) ?? [];
  if (list.length >= MAX_IDLE_PER_HOST) return c.close();
  c.socket.unref();
  c.socket.setTimeout(IDLE_CLOSE_MS);
  list.push(c);
  idle.set(c.hostKey, list);
}

/** Closes every idle connection of this thread (tests; a process about to end). */
export function closeIdleHttpConnections(): void {
  for (const list of [...idle.values()]) for (const c of [...list]) c.close();
}

/** A GET on an idle connection to the host, or a new one; a reused one the server had closed is retried once. */
async function get(url: URL, headers: Record<string, string>, place: BodyPlace): Promise<Outcome> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  const port = Number(url.port || 80);
  const hostKey = `${host}:${port}`;
  const path = (url.pathname || "/") + url.search;
  const reused = idle.get(hostKey)?.pop();
  if (reused) {
    try {
      return await reused.request(path, url.host, headers, place);
    } catch (err) {
      if (!(err as { beforeResponse?: boolean }).beforeResponse) throw err;
    }
  }
  return new Connection(hostKey, host, port).request(path, url.host, headers, place);
}

/** An http:// store read with the client above, falling back to fetch where it does not apply. */
export class NodeHttpStore implements Store {
  private readonly fetchStore: HttpStore;

  /** `stores`: whose credentials its requests carry (default: the realm's). */
  constructor(
    readonly url: string,
    private readonly stores: Stores = realmStores,
  ) {
    this.fetchStore = new HttpStore(url, stores);
  }

  /** Sizes come from a HEAD request through fetch (rare: once per file when a reader plans). */
  size(key: string): Promise<number | undefined> {
    return this.fetchStore.size(key);
  }

  async get(key: string, range?: ByteRange, into?: (size: number) => Uint8Array): Promise<Uint8Array | undefined> {
    const target = new URL(key, this.url);
    const headers = this.stores.requestHeaders(target, range);
    let outcome: Outcome;
    try {
      outcome = await get(target, headers, (head) => {
        if (head.status !== 200 && head.status !== 206) return null;
        // A server that ignores Range answers 200 with the whole file: not the size `into` is for.
        return into && !(range && head.status === 200) ? into(head.length) : new Uint8Array(head.length);
      });
    } catch (cause) {
      throw new StoreError(`cannot fetch ${target.href}: ${(cause as Error).message}`, target.href, { cause });
    }
    if (outcome === "fetch") return this.fetchStore.get(key, range, into);
    const { head, body } = outcome;
    if (head.status === 404 || head.status === 410) return undefined;
    if (range && head.status === 416)
      throw new StoreError(
        `${target.href} has no bytes ${range.offset}–${range.offset + range.length - 1} (HTTP 416): the file is shorter`,
        target.href,
      );
    if (!body) throw new StoreError(`cannot read ${target.href}: HTTP ${head.status} ${head.statusText}`, target.href);
    if (range && head.status === 200) return body.subarray(range.offset, range.offset + range.length);
    return body;
  }

  async set(key: string): Promise<void> {
    return this.fetchStore.set(key);
  }
}
