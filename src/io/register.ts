// The io kernels as builtins, so every worker (and the local scheduler) runs them by name. Their
// code, and the libraries under it (zarrita, h5wasm …), loads on a worker's first io task only.

import { registerBuiltin, registerRepeatable, type BuiltinFn } from "../graph/builtins.js";
import { storesOf, type TaskContext } from "../task-context.js";
import type { Stores } from "./store.js";

/** Builtin names, used by the graph builders. */
export const IO = {
  zarrRead: "io.zarr-read",
  /** A Zarr read and the sum over its first axis, fused (zarr-fuse.ts, zarr-reduce.ts). */
  zarrReadSum: "io.zarr-read-sum",
  zarrWrite: "io.zarr-write",
  netcdfRead: "io.netcdf-read",
} as const;

/**
 * A builtin that reads or writes through its worker's stores: `this` is the task's context
 * (task-context.ts), whose stores go to the kernel after its arguments; none (the local
 * scheduler) reads through the realm's.
 */
const reading = <M, A extends unknown[]>(
  load: () => Promise<M>,
  run: (m: M, stores: Stores, ...args: A) => unknown,
): BuiltinFn =>
  async function (this: TaskContext | undefined, ...args: A) {
    const stores = storesOf(this);
    return run(await load(), stores, ...args);
  } as unknown as BuiltinFn;

type ZarrChunks = typeof import("./zarr-chunks.js");
type ZarrReduce = typeof import("./zarr-reduce.js");
type NetcdfChunks = typeof import("./netcdf-chunks.js");
registerBuiltin(
  IO.zarrRead,
  reading(
    () => import("./zarr-chunks.js"),
    (m, stores, spec: Parameters<ZarrChunks["readZarrBlock"]>[0]) => m.readZarrBlock(spec, stores),
  ),
);
registerBuiltin(
  IO.zarrReadSum,
  reading(
    () => import("./zarr-reduce.js"),
    (m, stores, spec: Parameters<ZarrReduce["readZarrSum"]>[0], program: Parameters<ZarrReduce["readZarrSum"]>[1]) =>
      m.readZarrSum(spec, program, stores),
  ),
);
registerBuiltin(
  IO.zarrWrite,
  reading(
    () => import("./zarr-chunks.js"),
    (
      m,
      stores,
      spec: Parameters<ZarrChunks["writeZarrChunk"]>[0],
      block: Parameters<ZarrChunks["writeZarrChunk"]>[1],
    ) => m.writeZarrChunk(spec, block, stores),
  ),
);
// A chunk read again costs its decoding (~10 ms for 32 MB of xarray's Blosc); held for a second
// consumer it is 32 MB until that one runs: reads fuse into each consumer that can absorb them.
registerRepeatable(IO.zarrRead);
registerBuiltin(
  IO.netcdfRead,
  reading(
    () => import("./netcdf-chunks.js"),
    (m, stores, spec: Parameters<NetcdfChunks["readNetcdfBlock"]>[0]) => m.readNetcdfBlock(spec, stores),
  ),
);
