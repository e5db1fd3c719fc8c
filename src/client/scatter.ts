// Scatter: values serialized and keyed (by content, by default), placed by the scheduler, grouped
// into one batch per worker as it placed them (with the tickets that let each put in), put there
// straight from the client, and announced to the scheduler once held.

import { ArgumentError } from "../errors.js";
import type { ClientToScheduler, RequestWhat, ScatterPlacement } from "../protocol/messages.js";
import type { Serialized } from "../protocol/refs.js";
import { serialize } from "../protocol/serialize.js";
import { hash64 } from "../util/ids.js";
import { describe, typeTag } from "./arguments.js";
import type { ClientDataPlane } from "./data.js";
import { Future } from "./future.js";
import type { KeyTable } from "./keys.js";
import type { ScatterOptions } from "./options.js";

/** What scatter needs of its client. */
export interface ScatterLink {
  keys: KeyTable;
  data: ClientDataPlane;
  /** A fresh key suffix, for values not keyed by content. */
  token(): string;
  request<T>(what: RequestWhat): Promise<T>;
  /** Throws the client's ClientClosedError once it is closed. */
  checkOpen(): void;
  /** Sends to the scheduler after this turn's submissions. */
  send(msg: ClientToScheduler): void;
}

/** Client.scatter: puts `data` on workers and gives one future per element. */
export async function scatterValues<T>(link: ScatterLink, data: T[], options: ScatterOptions): Promise<Future<T>[]> {
  link.checkOpen();
  const { keys, encoded } = encodeScatter(data, options.hash !== false, link.token);
  // The scheduler places the values (and grants the puts: grants.ts); update-data counts only those.
  const placement = await link.request<ScatterPlacement>({
    kind: "scatter",
    keys,
    workers: options.workers,
    broadcast: options.broadcast === true,
    private: options.private === true || undefined,
  });
  const perWorker = batchesByWorker(keys, encoded, placement, (key, address, read) =>
    link.data.learn(key, [address], [read]),
  );
  const entries: { key: string; worker: string; nbytes: number; private?: boolean }[] = [];
  await Promise.all(
    [...perWorker].map(async ([address, { values: batch, tickets }]) => {
      const nbytes = await link.keys.held(link.data.put(address, batch, tickets));
      for (const key of Object.keys(batch))
        entries.push({ key, worker: address, nbytes: nbytes[key] ?? 0, private: options.private || undefined });
    }),
  );
  link.checkOpen();
  const futures = keys.map((key) => link.keys.futureFor<T>(key));
  for (const e of entries) {
    const ks = link.keys.get(e.key)!;
    ks.finish([...new Set([...ks.who, e.worker])], e.nbytes);
  }
  link.send({ op: "update-data", entries });
  return futures;
}

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
