// Every incoming message is checked against its schema before a handler sees it: a field of the
// wrong type, a missing field or an absurd value closes that connection with a ProtocolError that
// says what was wrong, instead of failing somewhere inside the scheduler or a worker. The table is
// keyed by op and typed, so a message without a schema does not compile.

import { ProtocolError } from "../errors.js";
import type { Message } from "./messages.js";
import { Serialized } from "./refs.js";

/** Returns a description of what is wrong with `v` at `path`, or null if nothing. */
type Check = (v: unknown, path: string) => string | null;

/** Keys, names and tokens longer than this are refused: no honest peer sends them. */
export const MAX_STRING_LENGTH = 64 * 1024;

const str: Check = (v, p) =>
  typeof v !== "string"
    ? `${p} must be a string`
    : v.length > MAX_STRING_LENGTH
      ? `${p} is longer than ${MAX_STRING_LENGTH} characters`
      : null;
const num: Check = (v, p) => (typeof v === "number" && Number.isFinite(v) ? null : `${p} must be a finite number`);
const count: Check = (v, p) =>
  typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? null : `${p} must be a whole number ≥ 0`;
const nonNegative: Check = (v, p) =>
  typeof v === "number" && v >= 0 && Number.isFinite(v) ? null : `${p} must be a number ≥ 0`;
const serialized: Check = (v, p) => (v instanceof Serialized ? null : `${p} must be an encoded value`);
/** A SHA-256 digest as protocol/digest.ts writes it: 64 lowercase hex digits. */
const digest: Check = (v, p) =>
  typeof v === "string" && /^[0-9a-f]{64}$/.test(v) ? null : `${p} must be 64 hex digits (a SHA-256 digest)`;
const bool: Check = (v, p) => (typeof v === "boolean" ? null : `${p} must be true or false`);
const any: Check = () => null;

function optional(check: Check): Check & { optional: true } {
  const c = ((v: unknown, p: string) => (v === undefined || v === null ? null : check(v, p))) as Check & {
    optional: true;
  };
  c.optional = true;
  return c;
}

function oneOf(...values: unknown[]): Check {
  return (v, p) =>
    values.includes(v) ? null : `${p} must be one of ${values.map((x) => JSON.stringify(x)).join(", ")}`;
}

/**
 * Every list in a message has a cap: keys and tasks of one graph update (a million: far beyond
 * the graphs clients send in one update, and a packet's size bounds them anyway), and smaller ones
 * below for lists no honest peer makes long. A heartbeat with a million links stalled a scheduler
 * for 11 s (issue 20).
 */
export const MAX_LIST_LENGTH = 1_000_000;
/** Links one heartbeat reports: one per peer a worker talks to. */
export const MAX_LINKS = 10_000;
/** Workers a key is said to be on, or a task may run on. */
export const MAX_WORKERS_LISTED = 10_000;
/**
 * Story entries one worker answers with (the most recent), and characters in each of their fields:
 * a worker's story of one key is a few transitions per task it ran or fetched; a tab cannot make a
 * client's workerStory carry megabytes.
 */
export const MAX_STORY_ENTRIES_PER_WORKER = 1_000;
export const MAX_STORY_FIELD_LENGTH = 1_024;
/** Resources a worker offers or a task asks for (GPU, memory …), and codecs, and priority parts. */
export const MAX_SMALL_LIST = 64;

function arrayOf(item: Check, max = MAX_LIST_LENGTH): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p} must be a list`;
    if (v.length > max) return `${p} has ${v.length} entries (limit ${max})`;
    for (let i = 0; i < v.length; i++) {
      const e = item(v[i], `${p}[${i}]`);
      if (e) return e;
    }
    return null;
  };
}

function recordOf(item: Check, max = MAX_LIST_LENGTH): Check {
  return (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v) || v instanceof Map) return `${p} must be an object`;
    const entries = Object.entries(v);
    if (entries.length > max) return `${p} has ${entries.length} entries (limit ${max})`;
    for (const [k, x] of entries) {
      const e = str(k, `${p} key`) ?? item(x, `${p}.${k}`);
      if (e) return e;
    }
    return null;
  };
}

function shape(fields: Record<string, Check>): Check {
  const entries = Object.entries(fields);
  return (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return `${p} must be an object`;
    const o = v as Record<string, unknown>;
    for (const [name, check] of entries) {
      const e = check(o[name], `${p}.${name}`);
      if (e) return e;
    }
    return null;
  };
}

const fnRef: Check = (v, p) => {
  if (typeof v !== "object" || v === null) return `${p} must be a function reference`;
  const kind = (v as { kind?: unknown }).kind;
  if (kind === "source") return shape({ id: str, via: optional(str) })(v, p);
  if (kind === "module") return shape({ module: str, name: str, via: optional(str) })(v, p);
  if (kind === "builtin") return shape({ name: str })(v, p);
  return `${p}.kind must be "source", "module" or "builtin"`;
};

const fnDef = shape({ id: str, source: str, name: str });
const errorData: Check = shape({ name: str, message: str, stack: optional(str), code: optional(str) });
const resources = recordOf(num, MAX_SMALL_LIST);
const keys = arrayOf(str);
const storyField: Check = (v, p) =>
  typeof v !== "string" || v.length > MAX_STORY_FIELD_LENGTH
    ? `${p} must be a string of at most ${MAX_STORY_FIELD_LENGTH} characters`
    : null;

/**
 * A task module's build is a bundle of the module and the packages it imports: hundreds of kB is
 * usual, so it is not held to MAX_STRING_LENGTH; 16 Mi characters is far past any honest module.
 */
export const MAX_MODULE_SOURCE_LENGTH = 16 * 1024 * 1024;
const moduleSource: Check = (v, p) =>
  typeof v !== "string"
    ? `${p} must be a string`
    : v.length > MAX_MODULE_SOURCE_LENGTH
      ? `${p} is longer than ${MAX_MODULE_SOURCE_LENGTH} characters`
      : null;
/** A module a worker is sent: its build for that worker (or, where it cannot run, why). */
const moduleDef = shape({
  hash: str,
  source: moduleSource,
  exports: keys,
  browser: optional(shape({ hash: str, source: moduleSource })),
  nodeOnly: optional(str),
});
/** A module a client uploads: a browser build, or the reason it has none. */
const uploadedModule: Check = (v, p) =>
  moduleDef(v, p) ??
  ((v as { browser?: unknown; nodeOnly?: unknown }).browser == null && (v as { nodeOnly?: unknown }).nodeOnly == null
    ? `${p} needs a browser build or a nodeOnly reason`
    : null);
/** Worker ids, names or addresses. */
const workerList = arrayOf(str, MAX_WORKERS_LISTED);
const smallKeys = arrayOf(str, MAX_SMALL_LIST);
const priority = arrayOf(num, MAX_SMALL_LIST);
/** Where a key can be fetched (DepLocation): compute-task's deps, acquire-replicas, tickets. */
const depLocation = shape({
  key: str,
  who: workerList,
  nbytes: nonNegative,
  tickets: optional(workerList),
  digest: optional(digest),
});

const task = shape({
  key: str,
  fn: fnRef,
  args: serialized,
  deps: keys,
  priority,
  retries: count,
  workers: optional(workerList),
  resources: optional(resources),
  noWorkerTimeout: optional(nonNegative),
  verify: optional(count),
  private: optional(bool),
  timeout: optional(nonNegative),
});

/** SDP runs to a few kB; anything near this is not an honest description. */
const MAX_SDP_LENGTH = 32 * 1024;
const rtcSignal: Check = (v, p) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case "offer":
    case "answer":
      return (
        shape({ pc: str, kind: str, sdp: str })(v, p) ??
        ((v as { sdp: string }).sdp.length > MAX_SDP_LENGTH
          ? `${p}.sdp is longer than ${MAX_SDP_LENGTH} characters`
          : null)
      );
    case "candidate":
      return shape({
        pc: str,
        kind: str,
        candidate: shape({ candidate: str, sdpMid: optional(str), sdpMLineIndex: optional(count) }),
      })(v, p);
    case "refused":
    case "bye":
      return shape({ pc: str, kind: str, reason: str })(v, p);
  }
  return `${p}.kind must be "offer", "answer", "candidate", "refused" or "bye"`;
};

const requestWhat: Check = (v, p) => {
  const kind = (v as { kind?: unknown } | null)?.kind;
  switch (kind) {
    case "who-has":
    case "locate":
      return shape({ keys })(v, p);
    case "scatter":
      return shape({ keys, workers: optional(workerList), broadcast: optional(bool), private: optional(bool) })(v, p);
    case "workers":
      return null;
    case "upload":
      return shape({ module: uploadedModule })(v, p);
    case "story":
    case "worker-story":
      return shape({ key: str })(v, p);
    case "retire":
      return shape({ workers: workerList })(v, p);
    case "progress-watch":
      return shape({ keys })(v, p);
    case "progress":
      return shape({ watch: count, end: optional(bool) })(v, p);
    default:
      return `${p}.kind must be one of "who-has", "locate", "scatter", "workers", "upload", "story", "worker-story", "retire", "progress-watch", "progress"`;
  }
};

const SCHEMAS: { [K in Message["op"]]: Check } = {
  hello: shape({
    version: num,
    role: oneOf("client", "worker", "peer"),
    token: optional(str),
    name: optional(str),
    codecs: optional(smallKeys),
    worker: optional(
      shape({
        address: str,
        kind: oneOf("thread", "node", "browser"),
        nthreads: count,
        memoryLimit: nonNegative,
        resources,
        name: str,
        group: optional(shape({ id: str, adapt: optional(shape({ minimum: count, maximum: count })) })),
        webrtc: optional(bool),
      }),
    ),
  }),
  welcome: shape({
    version: num,
    id: str,
    codecs: optional(smallKeys),
    dataToken: optional(str),
    dataSecret: optional(str),
    clock: optional(num),
    name: optional(str),
    dashboard: optional(str),
    rtc: optional(
      shape({
        iceServers: optional(
          arrayOf(
            shape({
              urls: (v, p) => (typeof v === "string" ? str(v, p) : keys(v, p)),
              username: optional(str),
              credential: optional(str),
            }),
          ),
        ),
        iceTransportPolicy: optional(oneOf("all", "relay")),
      }),
    ),
  }),
  refused: shape({ version: num, reason: str }),
  "update-graph": shape({ tasks: arrayOf(task), fns: arrayOf(fnDef), wants: keys }),
  "release-keys": shape({ keys }),
  cancel: shape({ keys }),
  "update-data": shape({
    entries: arrayOf(shape({ key: str, worker: str, nbytes: nonNegative, private: optional(bool) })),
  }),
  request: shape({ id: count, what: requestWhat }),
  "key-in-memory": shape({
    key: str,
    who: workerList,
    tickets: optional(workerList),
    digest: optional(digest),
    nbytes: nonNegative,
    value: optional(serialized),
  }),
  "key-erred": shape({ key: str, error: errorData, blame: str }),
  "key-cancelled": shape({ key: str }),
  "key-lost": shape({ key: str, reason: str }),
  "key-waiting": shape({ key: str, why: oneOf("no-worker", "recomputing"), reason: str }),
  reply: shape({ id: count, value: any, error: optional(errorData) }),
  "compute-task": shape({
    key: str,
    fn: fnRef,
    fnDef: optional(fnDef),
    args: serialized,
    deps: arrayOf(depLocation),
    priority,
    digest: optional(bool),
  }),
  "free-keys": shape({ keys }),
  "load-module": shape({ module: moduleDef }),
  "close-worker": shape({ reason: str }),
  "steal-request": shape({ keys }),
  "scale-up": shape({ n: count }),
  "steal-response": shape({ stolen: keys, kept: keys }),
  "acquire-replicas": shape({
    keys: arrayOf(depLocation),
  }),
  tickets: shape({
    keys: arrayOf(depLocation),
  }),
  "task-finished": shape({
    key: str,
    nbytes: nonNegative,
    duration: nonNegative,
    value: optional(serialized),
    held: optional(bool),
    digest: optional(digest),
  }),
  "task-started": shape({ key: str }),
  "story-request": shape({ id: count, key: str }),
  "story-entries": shape({
    id: count,
    entries: arrayOf(
      shape({ start: storyField, finish: storyField, stimulus: storyField, time: num, note: optional(storyField) }),
      MAX_STORY_ENTRIES_PER_WORKER,
    ),
  }),
  "retire-me": shape({ reason: str }),
  "rtc-signal": shape({ to: optional(str), from: optional(str), data: rtcSignal }),
  "task-erred": shape({ key: str, error: errorData }),
  "acquire-failed": shape({ keys }),
  "missing-data": shape({ key: str, dep: str, from: str }),
  "bad-data": shape({ key: str, from: str }),
  "renew-tickets": shape({ keys }),
  "add-keys": shape({ keys: arrayOf(shape({ key: str, nbytes: nonNegative })) }),
  heartbeat: shape({
    memory: nonNegative,
    spilled: nonNegative,
    paused: bool,
    links: optional(arrayOf(shape({ peer: str, kind: str, bytesIn: nonNegative, bytesOut: nonNegative }), MAX_LINKS)),
    executing: count,
    ready: count,
  }),
  "get-data": shape({ id: count, keys, tickets: optional(keys) }),
  "put-data": shape({ id: count, values: recordOf(serialized), tickets: optional(recordOf(str)) }),
  data: shape({ id: count, values: recordOf(serialized), missing: keys, expired: optional(keys) }),
  "put-reply": shape({ id: count, nbytes: recordOf(nonNegative) }),
  goodbye: shape({ reason: str }),
};

/** Throws ProtocolError saying what is wrong if `msg` does not match the schema of its op. */
export function validate(msg: Message): void {
  const op = msg.op;
  const check = Object.hasOwn(SCHEMAS, op) ? SCHEMAS[op] : undefined;
  if (!check) throw new ProtocolError(`unknown message "${op}"`);
  const problem = check(msg, op);
  if (problem) throw new ProtocolError(`malformed "${op}" message: ${problem}`);
}
