// The stores are a member's (src/runtime.ts `stores`, io/store.ts): two clusters in one realm, each
// with its own data credentials or store openers, each read their own data, in planning (the
// client's stores) and in tasks (the worker's, handed to builtins as the task's context); neither
// reads the other's, and closing one clears what it registered.

import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { test } from "node:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as mw from "../../node/array.js";
import * as dd from "../../node/dataframe.js";
import * as xr from "../../node/xarray.js";
import {
  Client,
  createRuntime,
  createStores,
  defaultRuntime,
  LocalCluster,
  Scheduler,
  Worker,
  type Runtime,
} from "../../node/index.js";
import { openStore, type Store } from "../../src/io/store.js";
import { countScanStats } from "../../src/dataframe/io/parquet-count.js";
import { fixture } from "../io/fixtures.js";

const sync = { scheduler: "sync" } as const;

/** The array `path` of `store`, computed in this thread from the fixture on disk. */
async function fromDisk(store: string, path: string): Promise<Float64Array | Float32Array | Int32Array> {
  const x = await mw.fromZarr(fixture(store), { path });
  return ((await x.compute({ scheduler: "sync" })) as mw.NDArray).toTypedArray() as Float64Array;
}

test("two LocalClusters in one realm, each serving /data/ with its own token: each reads its own, neither the other's, and closing one forgets its token", {
  timeout: 60_000,
}, async () => {
  const rtA = createRuntime();
  const rtB = createRuntime();
  const a = await LocalCluster.start({
    workers: 1,
    runtime: rtA,
    dashboard: false,
    page: { serveData: fixture("zarr2") },
  });
  let bClosed = false;
  const b = await LocalCluster.start({ workers: 1, runtime: rtB, dashboard: false, page: { serveData: fixture(".") } });
  const ca = await Client.connect(a.address, { runtime: a.runtime });
  const cb = await Client.connect(b.address, { runtime: b.runtime });
  try {
    assert.equal(a.runtime, rtA);
    const urlA = `${a.dataUrl}codecs.zarr`;
    const urlB = `${b.dataUrl}zarr2/codecs.zarr`;
    const originA = new URL(a.dataUrl!).origin;
    const originB = new URL(b.dataUrl!).origin;
    // Each cluster's token is in its runtime's stores only: not the realm's, not the other's.
    assert.ok(rtA.stores.credentialFor(originA) && rtB.stores.credentialFor(originB));
    assert.equal(rtA.stores.credentialFor(originB), undefined);
    assert.equal(rtB.stores.credentialFor(originA), undefined);
    assert.equal(defaultRuntime().stores.credentialFor(originA), undefined);

    // Each plans through its client's stores and computes on its own workers.
    const xa = await mw.fromZarr(urlA, { path: "zlib", stores: ca });
    const xb = await mw.fromZarr(urlB, { path: "zstd", stores: cb });
    assert.deepEqual(
      ((await xa.compute({ scheduler: ca })) as mw.NDArray).toTypedArray(),
      await fromDisk("zarr2/codecs.zarr", "zlib"),
    );
    assert.deepEqual(
      ((await xb.compute({ scheduler: cb })) as mw.NDArray).toTypedArray(),
      await fromDisk("zarr2/codecs.zarr", "zstd"),
    );

    // Planning given no stores reads through the realm's, which has neither token.
    await assert.rejects(mw.fromZarr(urlA, { path: "zlib" }), {
      name: "StoreError",
      message: /\/data\/codecs\.zarr\/zlib\/\S+: HTTP 401/,
    });
    // A's client does not reach B's /data/ with its token.
    await assert.rejects(mw.fromZarr(urlB, { path: "zstd", stores: ca }), {
      name: "StoreError",
      message: /\/data\/zarr2\/codecs\.zarr\/zstd\/\S+: HTTP 401/,
    });
    // A task of A cannot read B's /data/ either: planned through B, computed on A's workers.
    await assert.rejects(
      xb.compute({ scheduler: ca }),
      /StoreError: cannot read http:\/\/127\.0\.0\.1:\d+\/data\/zarr2\/codecs\.zarr\/zstd\/\S+: HTTP 401/,
    );

    // Closing B forgets B's token; A goes on.
    await cb.close();
    await b.close();
    bClosed = true;
    assert.equal(rtB.stores.credentialFor(originB), undefined);
    assert.ok(rtA.stores.credentialFor(originA));
    assert.deepEqual(
      ((await xa.compute({ scheduler: ca })) as mw.NDArray).toTypedArray(),
      await fromDisk("zarr2/codecs.zarr", "zlib"),
    );
  } finally {
    await ca.close();
    if (!bClosed) {
      await cb.close();
      await b.close();
    }
    await a.close();
  }
  assert.equal(rtA.stores.credentialFor(new URL(a.dataUrl!).origin), undefined);
});

/**
 * A member whose runtime's stores open `scheme` as the fixture directory `dir`, keeping the keys
 * read through them; the realm's stores cannot open that scheme at all.
 */
async function memberReading(scheme: string, dir: string) {
  const read: string[] = [];
  const stores = createStores();
  const root = pathToFileURL(fixture(dir)).href;
  stores.registerScheme(scheme, (url) => {
    const files = openStore(new URL(url.pathname.slice(1), root).href); // the realm's file:// store, under `dir`
    return {
      url: url.href,
      get: (key, range, into) => (read.push(key), files.get(key, range, into)),
      set: (key, bytes) => files.set(key, bytes),
      size: (key) => files.size!(key),
      list: (prefix) => files.list!(prefix),
      remove: (prefix) => files.remove!(prefix),
    } satisfies Store;
  });
  const runtime: Runtime = createRuntime({ stores });
  const scheduler = await Scheduler.start({ runtime });
  // In this thread: the task loop hands its builtins this worker's stores, not the realm's.
  const worker = await Worker.start({ scheduler: scheduler.address, runtime });
  const client = await Client.connect(scheduler.address, { runtime });
  return {
    read,
    client,
    close: async () => {
      await client.close();
      await worker.close();
      await scheduler.close();
    },
  };
}

test("in-process workers of two clusters in one realm: each task reads through its worker's stores (the task's context), not the realm's", {
  timeout: 30_000,
}, async () => {
  const a = await memberReading("mwa:", "zarr2/");
  const b = await memberReading("mwb:", "zarr3/");
  try {
    const xa = await mw.fromZarr("mwa://fixtures/codecs.zarr", { path: "zlib", stores: a.client });
    assert.deepEqual(
      ((await xa.compute({ scheduler: a.client })) as mw.NDArray).toTypedArray(),
      await fromDisk("zarr2/codecs.zarr", "zlib"),
    );
    // Planning read the metadata, the tasks on A's worker its four chunks: all through A's stores.
    assert.deepEqual(a.read.filter((k) => /^zlib\/\d\.\d$/.test(k)).sort(), [
      "zlib/0.0",
      "zlib/0.1",
      "zlib/1.0",
      "zlib/1.1",
    ]);
    assert.equal(b.read.length, 0);

    // The realm cannot open mwa://: planning given no stores says so.
    await assert.rejects(mw.fromZarr("mwa://fixtures/codecs.zarr", { path: "zlib" }), /cannot open mwa:\/\/ stores/);
    // B's worker runs A's tasks through B's stores, which cannot open mwa:// either.
    await assert.rejects(
      xa.compute({ scheduler: b.client }),
      /StoreError: this process cannot open mwa:\/\/ stores \(it can open mwb:\/\//,
    );
  } finally {
    await a.close();
    await b.close();
  }
});

test("dataframe io through a member's own stores: readParquet and readCsv plan and read, toParquet and toCsv write, through the member's; another member's tasks cannot", {
  timeout: 60_000,
}, async () => {
  const a = await memberReading("mwa:", "../dataframe/");
  const b = await memberReading("mwb:", "../dataframe/");
  try {
    // Parquet: the directory listed, the footers and the row groups read, all through A's stores.
    const trips = await dd.readParquet("mwa://fixtures/trips/", { columns: ["distance"], stores: a.client });
    const onDisk = await dd.readParquet(fixture("../dataframe/trips/"), { columns: ["distance"] });
    const before = a.read.length;
    assert.deepEqual(await trips.sum().compute({ scheduler: a.client }), await onDisk.sum().compute(sync));
    assert.ok(a.read.length > before, "the tasks read through A's stores");
    // The counting scan (a filter's len, fused into the row-group read) reads through them too.
    const scans = countScanStats().scans;
    const long: dd.RowExpr = (d) => (d.distance as number) > 2;
    assert.equal(await trips.filter(long).len({ scheduler: a.client }), await onDisk.filter(long).len(sync));
    assert.ok(countScanStats().scans > scans, "the counting scan ran");

    // CSV: the sample in planning, the blocks in the tasks.
    const csv = await dd.readCsv("mwa://fixtures/csv/*.csv", { stores: a.client, blocksize: 64 });
    const csvOnDisk = await dd.readCsv(fixture("../dataframe/csv/*.csv"), { blocksize: 64 });
    assert.ok(csv.npartitions > 1);
    assert.deepEqual(await csv.count().compute({ scheduler: a.client }), await csvOnDisk.count().compute(sync));
    assert.equal(b.read.length, 0);

    // The realm cannot open mwa://; B's worker runs A's tasks through B's stores, which cannot either.
    await assert.rejects(dd.readParquet("mwa://fixtures/trips/"), /cannot open mwa:\/\/ stores/);
    await assert.rejects(dd.readCsv("mwa://fixtures/csv/a.csv"), /cannot open mwa:\/\/ stores/);
    for (const df of [trips, csv])
      await assert.rejects(
        df.len({ scheduler: b.client }),
        /StoreError: this process cannot open mwa:\/\/ stores \(it can open mwb:\/\//,
      );
  } finally {
    await a.close();
    await b.close();
  }

  // Writing: toParquet and toCsv through a member's stores, into a scratch directory it opens as mwo://.
  const dir = mkdtempSync(join(tmpdir(), "meshwork-stores-"));
  const w = await memberReading("mwo:", `${dir}/`);
  try {
    const df = dd.fromRecords([{ x: 1 }, { x: 2 }, { x: 3 }], { npartitions: 2 });
    assert.equal(await df.toParquet("mwo://out/pq", { scheduler: w.client, stores: w.client, overwrite: true }), 3);
    assert.equal(await df.toCsv("mwo://out/csv", { scheduler: w.client, stores: w.client }), 3);
    assert.deepEqual(readdirSync(join(dir, "pq")).sort(), ["part.0.parquet", "part.1.parquet"]);
    assert.deepEqual(readdirSync(join(dir, "csv")).sort(), ["part.0.csv", "part.1.csv"]);
    const back = await dd.readParquet("mwo://out/pq/", { stores: w.client });
    assert.deepEqual(await back.sum().compute({ scheduler: w.client }), { x: 6 });
    // Planned without the member's stores, overwrite's removal goes through the realm's, which cannot open mwo://.
    await assert.rejects(
      df.toCsv("mwo://out/csv", { scheduler: w.client, overwrite: true }),
      /cannot open mwo:\/\/ stores/,
    );
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("NetCDF-3 and NetCDF-4 through a member's own stores: fromNetcdf plans and its tasks read through the member's; another member's tasks cannot", {
  timeout: 60_000,
}, async () => {
  const a = await memberReading("mwa:", "nc/");
  const b = await memberReading("mwb:", "nc/");
  try {
    for (const file of ["climate3_classic.nc", "climate4.nc"]) {
      const start = a.read.length;
      const x = await mw.fromNetcdf(`mwa://fixtures/${file}`, { variable: "air", stores: a.client });
      assert.ok(a.read.length > start, `${file}: planning read through A's stores`);
      const want = await (await mw.fromNetcdf(fixture(`nc/${file}`), { variable: "air" })).compute(sync);
      const before = a.read.length;
      assert.deepEqual(
        ((await x.compute({ scheduler: a.client })) as mw.NDArray).toTypedArray(),
        (want as mw.NDArray).toTypedArray(),
        file,
      );
      // NetCDF-3's tasks read their rows; NetCDF-4's (not a local file: read whole) use the file
      // opened for A's stores in planning, held per process and stores.
      if (file.includes("3")) assert.ok(a.read.length > before, `${file}: the tasks read through A's stores`);
      await assert.rejects(mw.fromNetcdf(`mwa://fixtures/${file}`, { variable: "air" }), /cannot open mwa:\/\/ stores/);
      await assert.rejects(
        x.compute({ scheduler: b.client }),
        /StoreError: this process cannot open mwa:\/\/ stores \(it can open mwb:\/\//,
      );
    }
    assert.equal(b.read.length, 0);
  } finally {
    await a.close();
    await b.close();
  }
});

test("xarray through a member's own stores: openDataset and openMfDataset read metadata and coordinates through the member's, toZarr writes the metadata through it; another member's tasks cannot read", {
  timeout: 60_000,
}, async () => {
  const a = await memberReading("mwa:", "");
  const b = await memberReading("mwb:", "");
  const values = async (ds: xr.Dataset, name: string, scheduler: mw.ComputeOptions["scheduler"]) =>
    ((await ds.get(name).compute({ scheduler })).values as mw.NDArray).toTypedArray();
  try {
    const onDisk = await xr.openDataset(fixture("xr/climate.zarr"));
    const ds = await xr.openDataset("mwa://fixtures/xr/climate.zarr", { stores: a.client });
    assert.deepEqual(ds.sizes, onDisk.sizes);
    assert.ok(ds.coords.get("lat")!.equals(onDisk.coords.get("lat")!));
    const before = a.read.length;
    assert.deepEqual(await values(ds, "air", a.client), await values(onDisk, "air", "sync"));
    assert.ok(a.read.length > before, "the chunks were read through A's stores");

    // NetCDF files by a glob, listed and read through A's stores.
    const mfDisk = await xr.openMfDataset(fixture("nc/y202*.nc"), { concatDim: "time" });
    const mf = await xr.openMfDataset("mwa://fixtures/nc/y202*.nc", { concatDim: "time", stores: a.client });
    assert.deepEqual(mf.sizes, mfDisk.sizes);
    assert.deepEqual(await values(mf, "air", a.client), await values(mfDisk, "air", "sync"));
    assert.equal(b.read.length, 0);

    // The realm cannot open mwa://; B's worker runs A's tasks through B's stores, which cannot either.
    await assert.rejects(xr.openDataset("mwa://fixtures/xr/climate.zarr"), /cannot open mwa:\/\/ stores/);
    await assert.rejects(xr.openMfDataset("mwa://fixtures/nc/y202*.nc"), /cannot open mwa:\/\/ stores/);
    await assert.rejects(
      values(ds, "air", b.client),
      /StoreError: this process cannot open mwa:\/\/ stores \(it can open mwb:\/\//,
    );
  } finally {
    await a.close();
    await b.close();
  }

  // toZarr: the metadata written here through the member's stores, the chunks by its worker through its own.
  const dir = mkdtempSync(join(tmpdir(), "meshwork-stores-"));
  const w = await memberReading("mwo:", `${dir}/`);
  try {
    const ds = await xr.openDataset(fixture("xr/climate.zarr"));
    await ds.toZarr("mwo://out/ds.zarr", { scheduler: w.client, stores: w.client });
    const back = await xr.openDataset(join(dir, "ds.zarr"));
    assert.deepEqual(back.sizes, ds.sizes);
    assert.deepEqual(await values(back, "air", "sync"), await values(ds, "air", "sync"));
    await assert.rejects(ds.toZarr("mwo://out/ds2.zarr", { scheduler: w.client }), /cannot open mwo:\/\/ stores/);
  } finally {
    await w.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a member takes its scheduler token back off its runtime's stores when it closes, once every member that set it has", async () => {
  const runtime = createRuntime();
  const scheduler = await Scheduler.start({
    address: "ws://127.0.0.1:0",
    token: "client-token",
    workerToken: "worker-token",
    runtime,
  });
  const origin = new URL(scheduler.address.replace(/^ws/, "http")).origin;
  try {
    const worker = await Worker.start({ scheduler: scheduler.address, token: "worker-token", runtime });
    const client = await Client.connect(scheduler.address, { token: "client-token", runtime });
    // The client joined last: its token is the one sent; the worker's lease is on another token.
    assert.equal(runtime.stores.credentialFor(origin), "client-token");
    const other = await Client.connect(scheduler.address, { token: "client-token", runtime });
    await client.close();
    assert.equal(runtime.stores.credentialFor(origin), "client-token", "another client still holds it");
    await other.close();
    assert.equal(runtime.stores.credentialFor(origin), undefined, "nobody holds it");
    // A token set since by hand is not a member's to take back.
    const third = await Client.connect(scheduler.address, { token: "client-token", runtime });
    runtime.stores.setCredentials(origin, "by-hand");
    await third.close();
    await worker.close();
    assert.equal(runtime.stores.credentialFor(origin), "by-hand");
    assert.equal(defaultRuntime().stores.credentialFor(origin), undefined);
  } finally {
    await scheduler.close();
  }
});
