// Scatter's data work: values serialized and keyed (by content, by default), then grouped into
// one batch per worker as the scheduler placed them (with the tickets that let each put in).

import { ArgumentError } from "../errors.js";
import type { ScatterPlacement } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { serialize } from "../protocol/serialize.js";
import { hash64 } from "../util/ids.js";
import { describe, typeTag } from "./arguments.js";
import { Future } from "./future.js";

/** The values of `data`, serialized, with their keys: a hash of the content unless `hash` is false, then `token()`. */
export function encodeScatter(
  data: unknown,
  hash: boolean,
  token: () => string,
): { keys: string[]; encoded: Serialized[] } {
  if (!Array.isArray(data)) {
    throw new ArgumentError(
      `scatter takes an array of values and gives one future per element: const [f] = await client.scatter([value]); got ${describe(data)}`,
    );
  }
  const values: unknown[] = data;
  const noFutures = (v: object): unknown => {
    if (v instanceof Future) throw new ArgumentError("futures cannot be scattered; pass them to submit instead");
    return undefined;
  };
  const encoded = values.map((v) => serialize(v, { replace: noFutures }).payload);
  const keys = encoded.map((e, i) => {
    const tag = typeTag(values[i]);
    return hash ? `${tag}-${hash64(e.header, ...e.frames)}` : `${tag}-${token()}`;
  });
  return { keys, encoded };
}

/** One worker's share of a scatter: the values to put there and, where the scheduler grants puts, their tickets. */
export interface ScatterBatch {
  values: Record<string, Serialized>;
  tickets: Record<string, string> | undefined;
}

/**
 * The values grouped by the worker the scheduler placed them on; `learn` hears where each key
 * can be read from (with the read ticket) as it goes.
 */
export function batchesByWorker(
  keys: string[],
  encoded: Serialized[],
  placement: ScatterPlacement,
  learn: (key: string, address: string, read: string) => void,
): Map<string, ScatterBatch> {
  const perWorker = new Map<string, ScatterBatch>();
  keys.forEach((key, i) => {
    for (const { address, ticket, read } of placement[key] ?? []) {
      let batch = perWorker.get(address);
      if (!batch) perWorker.set(address, (batch = { values: {}, tickets: ticket === undefined ? undefined : {} }));
      batch.values[key] = encoded[i]!;
      if (batch.tickets && ticket !== undefined) batch.tickets[key] = ticket;
      if (read !== undefined) learn(key, address, read);
    }
  });
  return perWorker;
}
