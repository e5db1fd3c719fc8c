// The data plane: what anyone sends a worker's data server and what it answers, and a reader's
// report to the scheduler of bytes that did not match a verified key's digest.

import type { Serialized } from "../refs.js";

export interface GetData {
  op: "get-data";
  id: number;
  keys: string[];
  /** One ticket per key, for the name this connection's hello gave (required where the worker has a data secret). */
  tickets?: string[] | undefined;
}

export interface PutData {
  op: "put-data";
  id: number;
  values: Record<string, Serialized>;
  /** One "put" ticket per key of `values`, by key (required where the worker has a data secret). */
  tickets?: Record<string, string> | undefined;
}

export type ToDataServer = GetData | PutData;

export interface DataReply {
  op: "data";
  id: number;
  values: Record<string, Serialized>;
  missing: string[];
  /** Keys asked for with a ticket that has expired: not served; the reader asks the scheduler for a fresh ticket. */
  expired?: string[] | undefined;
}

export interface PutReply {
  op: "put-reply";
  id: number;
  nbytes: Record<string, number>;
}

export type FromDataServer = DataReply | PutReply;

/**
 * `from` served bytes for `key` whose digest is not the one the scheduler gave with its location:
 * sent by a worker or client that checked them (then it tries another holder). The scheduler bans
 * `from` on the word of a trusted reader only (scheduler/bad-data.ts).
 */
export interface BadData {
  op: "bad-data";
  key: string;
  from: string;
}
