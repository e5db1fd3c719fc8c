// What the messages share: who is speaking, what a task runs, the resources it needs, and the
// answer to a request (types only; protocol/messages.ts gathers every message into one union).

import type { ErrorData } from "../../errors.js";

export type Role = "client" | "worker" | "peer";
export type WorkerKind = "thread" | "node" | "browser";

/**
 * What a task runs: a function shipped as source (by hash), an export of an uploaded module, or a
 * function compiled into meshwork itself (array kernels), by name. A user's function (source or
 * module) with `via` runs through builtin `via`: the task computes `via(fn, ...args)` (a
 * collection kernel that calls the user's function, as mapPartitions does).
 */
export type FnRef =
  | { kind: "source"; id: string; via?: string | undefined }
  | { kind: "module"; module: string; name: string; via?: string | undefined }
  | { kind: "builtin"; name: string };

/** Source of a function, sent once per scheduler and once per worker. */
export interface FnDef {
  id: string;
  source: string;
  name: string;
}

/** One build of a task module: a self-contained ES module and a hash of its text. */
export interface ModuleBuild {
  hash: string;
  source: string;
}

/**
 * An uploaded task module, built once per platform. Clients upload both builds; each worker is sent
 * the one for its kind (see moduleFor in scheduler/state.ts): a browser tab the browser build, or,
 * for a module that needs Node, no source and `nodeOnly` saying why.
 */
export interface ModuleDef {
  /** The module's id (what FnRefs name): a hash of its builds. */
  hash: string;
  /** The Node build (empty where a browser worker is sent a module that needs Node). */
  source: string;
  exports: string[];
  /** The browser build; absent when the module needs Node. */
  browser?: ModuleBuild | undefined;
  /** Why the module runs on Node workers only (it imports node:fs …); its tasks are never placed on tabs. */
  nodeOnly?: string | undefined;
}

/** Resources a worker offers or a task needs, e.g. { gpu: 1 }. */
export type Resources = Record<string, number>;

/** The answer to a Request (a client's, or a worker's own), by its id: a value or an error. */
export interface Reply {
  op: "reply";
  id: number;
  value?: unknown;
  error?: ErrorData | undefined;
}
