// The io kernels as builtins, so every worker (and the local scheduler) runs them by name. Their
// code, and the libraries under it (zarrita, h5wasm …), loads on a worker's first io task only.

import { registerBuiltin, registerRepeatable, type BuiltinFn } from "../graph/builtins.js";

/** Builtin names, used by the graph builders. */
export const IO = {
  zarrRead: "io.zarr-read",
  /** A Zarr read and the sum over its first axis, fused (zarr-fuse.ts, zarr-reduce.ts). */
  zarrReadSum: "io.zarr-read-sum",
  zarrWrite: "io.zarr-write",
  netcdfRead: "io.netcdf-read",
} as const;

const lazy = <M>(load: () => Promise<M>, pick: (m: M) => (...args: never[]) => unknown): BuiltinFn =>
  (async (...args: never[]) => pick(await load())(...args)) as BuiltinFn;

registerBuiltin(
  IO.zarrRead,
  lazy(
    () => import("./zarr-chunks.js"),
    (m) => m.readZarrBlock,
  ),
);
registerBuiltin(
  IO.zarrReadSum,
  lazy(
    () => import("./zarr-reduce.js"),
    (m) => m.readZarrSum,
  ),
);
registerBuiltin(
  IO.zarrWrite,
  lazy(
    () => import("./zarr-chunks.js"),
    (m) => m.writeZarrChunk,
  ),
);
// A chunk read again costs its decoding (~10 ms for 32 MB of xarray's Blosc); held for a second
// consumer it is 32 MB until that one runs: reads fuse into each consumer that can absorb them.
registerRepeatable(IO.zarrRead);
registerBuiltin(
  IO.netcdfRead,
  lazy(
    () => import("./netcdf-chunks.js"),
    (m) => m.readNetcdfBlock,
  ),
);
