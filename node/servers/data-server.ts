// `--serve-data DIR`: a directory served read-only under /data/ on the scheduler's one HTTP port,
// so that workers (browser tabs above all, which have no file system) read their own chunks with
// range requests (src/io/store.ts's HTTP store), and clients read the metadata they plan from.

import { createHash, timingSafeEqual } from "node:crypto";
import { constants, realpathSync, statSync } from "node:fs";
import { type FileHandle, open, realpath } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { ArgumentError } from "../../src/errors.js";
import { type Logger, realmLogger } from "../../src/log.js";

/** Where the directory appears on the scheduler's port. */
export const DATA_PREFIX = "/data/";

/**
 * Bytes read from a file at a time, and so at most held per response besides the socket's own
 * buffer: the stream waits for the socket to drain before reading on (pipeline's backpressure).
 * 64 KiB is Node's default for file streams.
 */
export const DATA_READ_BYTES = 64 * 1024;

/** Seconds a browser may keep a CORS preflight's answer (Chromium caps it at 7200). */
const PREFLIGHT_MAX_AGE_S = 600;

/** Metadata documents of Zarr (v2 and v3) and anything .json; every other file is bytes. */
const JSON_FILE = /(\.json|\.zarray|\.zattrs|\.zgroup|\.zmetadata)$/;

export interface DataServeOptions {
  /** The directory to serve (read-only). */
  directory: string;
  /**
   * Other origins whose pages may read the data (CORS), e.g. "https://notebook.example.org".
   * Default none: pages of the scheduler's own origin only.
   */
  origins?: string[] | undefined;
  /** Told of every answered request (never its credential): for logs and tests. */
  onRequest?: ((info: DataRequestInfo) => void) | undefined;
}

/** Who read what: the role is which token was presented. */
export interface DataRequestInfo {
  method: string;
  /** The path under /data/, as requested (still percent-encoded). */
  path: string;
  status: number;
  role: "client" | "worker" | "tab" | null;
  /** Body bytes sent (0 for HEAD and refusals). */
  bytes: number;
}

/** The tokens that may read: the client token, the worker token, the tab token (that tabs join with). */
export interface DataCredentials {
  client?: string | undefined;
  worker?: string | undefined;
  tab?: string | undefined;
}

/** Whether a request's raw target is for the data server (before any URL normalisation). */
export function isDataRequest(rawUrl: string | undefined): boolean {
  const path = (rawUrl ?? "").split("?", 1)[0]!;
  return path === "/data" || path.startsWith(DATA_PREFIX);
}

/**
 * The handler for /data/…: GET and HEAD of regular files under `directory`, single byte ranges,
 * `Authorization: Bearer <client or worker token>` required.
 */
export function dataHandler(
  options: DataServeOptions,
  credentials: DataCredentials,
  /** Where failed reads are logged: the scheduler's logger. */
  log: Logger = realmLogger,
): (req: IncomingMessage, res: ServerResponse) => void {
  let root: string;
  try {
    root = realpathSync(options.directory);
  } catch (err) {
    throw new ArgumentError(`cannot serve ${options.directory}: ${(err as Error).message}`, { cause: err });
  }
  if (!statSync(root).isDirectory()) throw new ArgumentError(`cannot serve ${options.directory}: not a directory`);
  const tokens = (["client", "worker", "tab"] as const).flatMap((role) =>
    credentials[role] ? [{ role, digest: digest(credentials[role]) }] : [],
  );
  if (tokens.length === 0)
    throw new ArgumentError(
      "serving data needs a client or worker token: without one, anyone who reaches the port could read it",
    );
  const origins = new Set(options.origins ?? []);
  for (const o of origins)
    if (!URL.canParse(o) || new URL(o).origin !== o)
      throw new ArgumentError(`a CORS origin is scheme://host[:port], got ${JSON.stringify(o)}`);

  return (req, res) => {
    const raw = (req.url ?? "/").split("?", 1)[0]!;
    const path = raw.slice(DATA_PREFIX.length);
    let role: DataRequestInfo["role"] = null;
    let sent = 0;
    const method = req.method ?? "";
    res.on("close", () => options.onRequest?.({ method, path, status: res.statusCode, role, bytes: sent }));
    // CORS: a request from another origin's page carries Origin; only listed origins are answered.
    const origin = req.headers.origin;
    const own =
      origin !== undefined && origin === `${"encrypted" in req.socket ? "https" : "http"}://${req.headers.host}`;
    const allowed = origin !== undefined && origins.has(origin);
    const cors: Record<string, string> = allowed
      ? {
          "access-control-allow-origin": origin,
          vary: "Origin",
          "access-control-expose-headers": "Content-Range, Content-Length, Accept-Ranges",
        }
      : {};
    const refuse = (status: number, text: string, headers: Record<string, string> = {}) => {
      res.writeHead(status, {
        ...SAFE_HEADERS,
        ...cors,
        "content-type": "text/plain; charset=utf-8",
        "content-length": String(Buffer.byteLength(text)),
        ...headers,
      });
      res.end(method === "HEAD" ? undefined : text);
    };

    if (method === "OPTIONS" && allowed) {
      // The preflight for a request with Authorization and Range; it carries no credential itself.
      res.writeHead(204, {
        ...SAFE_HEADERS,
        ...cors,
        "access-control-allow-methods": "GET, HEAD",
        "access-control-allow-headers": "Authorization, Range",
        "access-control-max-age": String(PREFLIGHT_MAX_AGE_S),
      });
      res.end();
      return;
    }
    if (method !== "GET" && method !== "HEAD")
      return refuse(405, "method not allowed: the data is read-only (GET, HEAD)\n", { allow: "GET, HEAD" });
    if (origin !== undefined && !own && !allowed) return refuse(403, "forbidden\n"); // "null" (opaque origins) too

    const given = /^Bearer (\S+)$/i.exec(req.headers.authorization ?? "")?.[1];
    if (given === undefined)
      return refuse(401, "unauthorized\n", { "www-authenticate": 'Bearer realm="meshwork data"' });
    role = check(given, tokens);
    if (!role) return refuse(403, "forbidden\n");

    const parts = segments(path);
    if (!parts) return refuse(400, "bad path\n");
    void send(root, parts, req, res, method === "HEAD", cors, (n) => (sent += n)).catch((err: Error) => {
      // Paths only: a request's headers (its token) are never logged.
      log.warn(`data: ${method} ${DATA_PREFIX}${path} failed: ${err.message}`);
      if (!res.headersSent) refuse(500, "cannot read the file\n");
      else res.destroy(err);
    });
  };
}

/** Headers every answer carries: nothing here is a page to render or a type to guess. */
const SAFE_HEADERS = {
  "x-content-type-options": "nosniff",
  "content-security-policy": "default-src 'none'; sandbox",
  "referrer-policy": "no-referrer",
  "cache-control": "private, no-cache",
} as const;

function digest(token: string): Buffer {
  return createHash("sha256").update(token).digest();
}

/**
 * Which role `given` is the token of. Digests have one length, so timingSafeEqual compares them
 * in constant time, and every token is compared (no early exit tells which one was close).
 */
function check(
  given: string,
  tokens: { role: "client" | "worker" | "tab"; digest: Buffer }[],
): "client" | "worker" | "tab" | null {
  const d = digest(given);
  let found: "client" | "worker" | "tab" | null = null;
  for (const t of tokens) if (timingSafeEqual(d, t.digest) && !found) found = t.role;
  return found;
}

/**
 * The path's parts, percent-decoded, or null when it could leave the directory or is not a plain
 * path: empty parts (a leading "/": absolute), "." and ".." (also encoded), and parts with a
 * slash, backslash or NUL once decoded.
 */
export function segments(path: string): string[] | null {
  const out: string[] = [];
  for (const encoded of path.split("/")) {
    let part: string;
    try {
      part = decodeURIComponent(encoded);
    } catch {
      return null; // malformed percent-encoding: not a name anything here has
    }
    if (part === "" || part === "." || part === ".." || /[/\\\0]/.test(part)) return null;
    out.push(part);
  }
  return out;
}

async function send(
  root: string,
  parts: string[],
  req: IncomingMessage,
  res: ServerResponse,
  head: boolean,
  cors: Record<string, string>,
  count: (n: number) => void,
): Promise<void> {
  const notFound = () => {
    res.writeHead(404, { ...SAFE_HEADERS, ...cors, "content-type": "text/plain; charset=utf-8" });
    res.end(head ? undefined : "not found\n");
  };
  // Symlinks inside the directory may point anywhere inside it; where they lead is what counts.
  let file: string;
  try {
    file = await realpath(root + sep + parts.join(sep));
  } catch {
    return notFound();
  }
  if (!file.startsWith(root + sep)) return notFound();
  let fh: FileHandle;
  try {
    // O_NOFOLLOW: a symlink swapped in after realpath is not followed.
    fh = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return notFound();
  }
  let handedOver = false;
  try {
    const stat = await fh.stat();
    if (!stat.isFile()) return notFound(); // directories are not listed
    const size = stat.size;
    const range = parseRange(req.headers.range, size);
    const headers: Record<string, string | number> = {
      ...SAFE_HEADERS,
      ...cors,
      "content-type": JSON_FILE.test(file) ? "application/json" : "application/octet-stream",
      "accept-ranges": "bytes",
      "last-modified": stat.mtime.toUTCString(),
    };
    if (range === "unsatisfiable") {
      res.writeHead(416, {
        ...headers,
        "content-type": "text/plain; charset=utf-8",
        "content-range": `bytes */${size}`,
      });
      res.end(head ? undefined : "range not satisfiable\n");
      return;
    }
    const [start, end] = range ?? [0, size - 1];
    const length = end - start + 1;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, { ...headers, "content-length": length });
    if (head || length === 0) {
      res.end();
      return;
    }
    const stream = fh.createReadStream({ start, end, highWaterMark: DATA_READ_BYTES, autoClose: true });
    handedOver = true;
    stream.on("data", (chunk: string | Buffer) => count(chunk.length)); // Buffers: no encoding was set
    try {
      await pipeline(stream, res);
    } catch (err) {
      // The reader went away mid-file (a cancelled fetch): nothing to report.
      if ((err as NodeJS.ErrnoException).code !== "ERR_STREAM_PREMATURE_CLOSE") throw err;
    }
  } finally {
    if (!handedOver) await fh.close();
  }
}

/**
 * A single `bytes=` range as [first, last] (inclusive), "unsatisfiable" (answered 416), or
 * undefined: no Range, or one this server ignores as RFC 9110 §14.2 allows (another unit,
 * malformed, several ranges), answering the whole file.
 */
export function parseRange(header: string | undefined, size: number): [number, number] | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    // The last n bytes.
    const n = Number(m[2]);
    if (n === 0 || size === 0) return "unsatisfiable";
    return [Math.max(0, size - n), size - 1];
  }
  const first = Number(m[1]);
  const last = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < first) return undefined; // invalid: ignored
  if (first >= size) return "unsatisfiable";
  return [first, last];
}
