// How meshwork/dataframe's libraries were chosen (2026-12-06, docs in the stage-1 report of issue 17):
// Arrow in memory and IPC (apache-arrow 21.2 vs @uwdata/flechette 2.6) and Parquet reading
// (hyparquet 1.31.5 + hyparquet-compressors vs parquet-wasm 0.8) on a file pyarrow wrote.
// The candidates that meshwork does not depend on are installed elsewhere, not in package.json:
//
//   mkdir -p /tmp/df-bench && cd /tmp/df-bench && npm init -y && npm install apache-arrow@21.2.0 \
//     @uwdata/flechette@2.6.0 hyparquet@1.31.5 hyparquet-compressors parquet-wasm@0.8.0
//   python3 -c 'see makeData below' (pandas + pyarrow), then:
//   DF_BENCH_MODULES=/tmp/df-bench/node_modules node bench/dataframe-libraries.mjs ipc
//   DF_BENCH_MODULES=/tmp/df-bench/node_modules node bench/dataframe-libraries.mjs parquet FILE [hyp|wasm] [col,col]
//
// The Parquet file: 6,000,000 rows in 6 row groups, written by pyarrow 25 (snappy and zstd):
//   vendor int32 (1-4), zone string (200k values), distance/fare float64, passengers int64, pickup timestamp[ms].

import { openSync, readFileSync, readSync, fstatSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.env.DF_BENCH_MODULES;
if (!dir) throw new Error("set DF_BENCH_MODULES to a node_modules holding the candidates (see the header)");
const load = (name, entry) => import(pathToFileURL(join(dir, name, entry)).href);
const [what, ...rest] = process.argv.slice(2);

function time(label, f, reps = 5) {
  const t = [];
  let r;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    r = f();
    t.push(performance.now() - t0);
  }
  console.log(JSON.stringify({ label, ms: t.map(Math.round) }));
  return r;
}

if (what === "ipc") {
  const A = await load("apache-arrow", "Arrow.node.mjs");
  const F = await load("@uwdata/flechette", "dist/flechette.mjs");
  const n = 2_000_000;
  const vendor = Int32Array.from({ length: n }, (_, i) => (i * 7) % 4);
  const dist = Float64Array.from({ length: n }, (_, i) => (i % 1000) / 7);
  const zones = Array.from({ length: 20000 }, (_, i) => `zone-${i}`);
  const zone = Array.from({ length: n }, (_, i) => zones[(i * 2654435761) % 20000]);
  const at = time(
    "apache-arrow build (makeVector, vectorFromArray utf8)",
    () =>
      new A.Table({
        vendor: A.makeVector(vendor),
        dist: A.makeVector(dist),
        zone: A.vectorFromArray(zone, new A.Utf8()),
      }),
  );
  const ft = time("flechette build (tableFromArrays)", () =>
    F.tableFromArrays({ vendor, dist, zone }, { types: { zone: F.utf8() } }),
  );
  const aipc = time("apache-arrow tableToIPC", () => A.tableToIPC(at, "stream"));
  const fipc = time("flechette tableToIPC", () => F.tableToIPC(ft, { format: "stream" }));
  time("apache-arrow tableFromIPC", () => A.tableFromIPC(aipc));
  time("flechette tableFromIPC", () => F.tableFromIPC(fipc));
  time("apache-arrow strings toArray", () => A.tableFromIPC(aipc).getChild("zone").toArray().length, 3);
  time("flechette strings toArray", () => F.tableFromIPC(fipc).getChild("zone").toArray().length, 3);
} else if (what === "parquet") {
  const [file, which = "hyp", cols] = rest;
  const columns = cols ? cols.split(",") : undefined;
  const fd = openSync(file, "r");
  const size = fstatSync(fd).size;
  let bytesRead = 0;
  const range = (s, e) => {
    const b = new Uint8Array(e - s);
    readSync(fd, b, 0, e - s, s);
    bytesRead += e - s;
    return b.buffer;
  };
  const { parquetRead, parquetMetadata } = await load("hyparquet", "src/index.js");
  const { compressors } = await load("hyparquet-compressors", "src/index.js");
  const run =
    which === "wasm"
      ? async () => {
          // parquet-wasm reads bytes in memory (its ParquetFile.fromUrl does ranges over its own fetch only).
          const pw = await load("parquet-wasm", "node/parquet_wasm.js");
          const A = await load("apache-arrow", "Arrow.node.mjs");
          const bytes = new Uint8Array(readFileSync(file));
          bytesRead = bytes.length;
          const t = A.tableFromIPC(pw.readParquet(bytes, columns ? { columns } : undefined).intoIPCStream());
          return { columnsReturned: t.numCols };
        }
      : async () => {
          const meta = parquetMetadata(range(Math.max(0, size - 2 ** 20), size));
          let values = 0;
          await parquetRead({
            file: { byteLength: size, slice: async (s, e = size) => range(s, e) },
            metadata: meta,
            columns,
            compressors,
            onChunk: ({ columnData }) => (values += columnData.length),
          });
          return { values };
        };
  for (let i = 0; i < 3; i++) {
    bytesRead = 0;
    const t0 = performance.now();
    const r = await run();
    console.log(
      JSON.stringify({
        which,
        columns: cols ?? "all",
        ms: Math.round(performance.now() - t0),
        MBread: +(bytesRead / 1e6).toFixed(1),
        rssMB: Math.round(process.memoryUsage().rss / 1e6),
        ...r,
      }),
    );
  }
} else {
  console.log("usage: node bench/dataframe-libraries.mjs ipc | parquet FILE [hyp|wasm] [columns]");
}
