// mapPartitions on a worker: the user's function (sent as source, checked for closures on the
// client) gets each partition as a flechette Table and returns a Table (or IPC bytes, or a
// partition), which becomes the new partition.

import { ArgumentError } from "../../errors.js";
import { fromArrowTable, toArrow } from "../arrow.js";
import { Part } from "../part.js";

const compiled = new Map<string, (table: unknown, ...args: unknown[]) => unknown>();

export async function mapPartition(part: Part, source: string, args: unknown[]): Promise<Part> {
  let fn = compiled.get(source);
  if (!fn) {
    fn = new Function(`"use strict"; return (${source});`)() as (table: unknown, ...args: unknown[]) => unknown;
    if (typeof fn !== "function") throw new ArgumentError("mapPartitions needs a function");
    compiled.set(source, fn);
  }
  const out = await fn(toArrow(part), ...args);
  if (out instanceof Part) return out;
  try {
    return fromArrowTable(out);
  } catch (err) {
    throw new ArgumentError(`the function given to mapPartitions returned ${Object.prototype.toString.call(out)}; it must return an Arrow table (flechette's tableFromArrays, or apache-arrow's) or Arrow IPC bytes`, { cause: err });
  }
}
