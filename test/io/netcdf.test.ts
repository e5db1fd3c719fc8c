// NetCDF in: files written by netCDF4-python and xarray (NetCDF-4 chunked and contiguous,
// NetCDF-3 classic with record variables and 64-bit offset) read lazily, one task per storage
// chunk or run of rows, raw values bit for bit on each scheduler, from files and over HTTP; and
// what goes wrong, said clearly, while the cluster keeps serving.

import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import * as mw from "../../node/array.js";
import { ArgumentError, DTypeError, FormatError, LabelError, RemoteError, StoreError } from "../../node/index.js";
import { netcdfVariable, readNetcdfVariable, type NetcdfInfo } from "../../src/io/netcdf.js";
import { useCluster } from "../helpers/cluster.js";
import { serveRanges, type RangeServer } from "../helpers/range-server.js";
import { assertSame, expectedArray, fixture } from "./fixtures.js";

const sync = { scheduler: "sync" } as const;
const CLIMATE = ["climate4.nc", "climate4_contiguous.nc", "climate3_64bit.nc", "climate3_classic.nc"] as const;
const FORMATS: Record<string, NetcdfInfo["format"]> = {
  "climate4.nc": "netcdf4",
  "climate4_contiguous.nc": "netcdf4",
  "climate3_64bit.nc": "netcdf3-64bit",
  "climate3_classic.nc": "netcdf3-classic",
  "misc4.nc": "netcdf4",
  "misc3.nc": "netcdf3-classic",
};

/** What netCDF4-python read with auto mask and scale off, as `dtype`. */
function stored(file: string, variable: string, dtype: mw.DType): mw.NDArray {
  return mw.NDArray.from(expectedArray(`nc/${file}/${variable}`), { dtype });
}

// One describe around them all, its hooks in the order they run (after hooks too): Node 20 starts
// a file's top-level before hooks together.
describe("NetCDF", () => {
  let tmp: string;
  let server: RangeServer;
  let base: string;
  /** Requests the HTTP server answered: path, Range header, bytes sent. */
  let requests: RangeServer["requests"];

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), "meshwork-netcdf-"));
    server = await serveRanges((path) => fixture(`nc${path}`));
    base = server.url;
    requests = server.requests;
  });
  after(async () => {
    await server[Symbol.asyncDispose]();
  });
  const c = useCluster({ workers: 2 });
  after(() => {
    rmSync(tmp, { recursive: true, force: true });
  });

  describe("what a file holds", () => {
    test("every fixture: its format, dimensions, unlimited dimensions, global attributes and variables", async () => {
      for (const file of CLIMATE) {
        const info = await mw.inspectNetcdf(fixture(`nc/${file}`));
        assert.equal(info.format, FORMATS[file], file);
        assert.match(info.url, new RegExp(`^file://.*/nc/${file}$`));
        assert.deepEqual(info.dims, { time: 147, lat: 5, lon: 6 }, file);
        assert.deepEqual(info.unlimited, file === "climate3_classic.nc" ? ["time"] : [], file);
        assert.deepEqual(info.attrs, { title: "meshwork test climate", source: "make_fixtures.py" }, file);
        assert.deepEqual(
          info.variables.map((v) => [v.name, v.dims, v.shape]),
          [
            ["air", ["time", "lat", "lon"], [147, 5, 6]],
            ["precip", ["time", "lat", "lon"], [147, 5, 6]],
            ["time", ["time"], [147]],
            ["lat", ["lat"], [5]],
            ["lon", ["lon"], [6]],
          ],
          file,
        );
        const types = Object.fromEntries(info.variables.map((v) => [v.name, v.dataType]));
        assert.deepEqual(
          types,
          {
            air: "float32",
            precip: "int16",
            time: file.startsWith("climate4") ? "int64" : "int32",
            lat: "float64",
            lon: "float64",
          },
          file,
        );
        const chunks = Object.fromEntries(info.variables.map((v) => [v.name, v.chunks]));
        assert.deepEqual(
          chunks,
          file === "climate4.nc"
            ? { air: [40, 5, 3], precip: [40, 5, 6], time: null, lat: null, lon: null }
            : { air: null, precip: null, time: null, lat: null, lon: null },
          file,
        );
      }
    });

    test("attributes as stored, not CF-decoded: packed precip's, NaN fill values, CF time units; netCDF-4's bookkeeping hidden", async () => {
      for (const file of CLIMATE) {
        const info = await mw.inspectNetcdf(fixture(`nc/${file}`));
        const attrs = (name: string) => info.variables.find((v) => v.name === name)!.attrs;
        assert.deepEqual(
          attrs("precip"),
          { _FillValue: -32767, units: "mm/day", add_offset: 100, scale_factor: 0.01 },
          file,
        );
        assert.ok(Number.isNaN(attrs("air")["_FillValue"]), file);
        assert.equal(attrs("air")["units"], "K");
        assert.equal(attrs("air")["long_name"], "air temperature");
        assert.equal(
          attrs("time")["units"],
          file === "climate3_classic.nc" ? "hours since 2020-01-01" : "days since 2020-01-01",
        );
        assert.equal(attrs("time")["calendar"], file === "climate3_classic.nc" ? "standard" : "proleptic_gregorian");
        for (const v of info.variables) {
          for (const hidden of [
            "_Netcdf4Dimid",
            "_Netcdf4Coordinates",
            "DIMENSION_LIST",
            "REFERENCE_LIST",
            "CLASS",
            "NAME",
          ])
            assert.ok(!(hidden in v.attrs), `${file} ${v.name} shows ${hidden}`);
        }
        assert.ok(!("_NCProperties" in info.attrs));
      }
    });

    test("NetCDF-4: a dimension without a coordinate variable is no variable; an unlimited dimension is as long as its variables; typed attributes keep their stored values", async () => {
      const info = await mw.inspectNetcdf(fixture("nc/misc4.nc"));
      assert.equal(info.format, "netcdf4");
      assert.deepEqual(info.dims, { station: 3, nchar: 5, obs: 4 });
      assert.deepEqual(info.unlimited, ["obs"]);
      assert.deepEqual(info.attrs, { history: "made by make_fixtures.py" });
      assert.deepEqual(
        info.variables.map((v) => [v.name, v.dims, v.dataType]),
        [
          ["name", ["station", "nchar"], "char"],
          ["code", ["station"], "string"],
          ["temp", ["obs", "station"], "float32"],
          ["flag", ["station"], "int8"],
          ["count", ["station"], "uint64"],
          ["level", ["station"], "uint16"],
        ],
      );
      const temp = info.variables.find((v) => v.name === "temp")!;
      assert.deepEqual(temp.attrs, { _FillValue: -999.5, valid_range: [-50, 50], gain: Math.fround(0.1) });
      assert.deepEqual(temp.chunks, [2, 3]);
      assert.deepEqual(info.variables.find((v) => v.name === "flag")!.attrs, {
        _FillValue: -127,
        flag_values: [1, -2, 3],
      });
    });

    test("NetCDF-3: signed byte attributes, char variables, a single record variable packed without padding", async () => {
      const info = await mw.inspectNetcdf(fixture("nc/misc3.nc"));
      assert.equal(info.format, "netcdf3-classic");
      assert.deepEqual(info.dims, { station: 3, nchar: 5, obs: 5 });
      assert.deepEqual(info.unlimited, ["obs"]);
      assert.deepEqual(info.variables.find((v) => v.name === "flag")!.attrs, {
        _FillValue: -127,
        flag_values: [1, -2, 3],
      });
      assert.deepEqual(await readNetcdfVariable(info, "name"), ["alpha", "beta", "gamma"]);
      // 3 int16 per record: 6 bytes from one record to the next (padded would be 8)
      assertSame(
        await (await mw.fromNetcdf(fixture("nc/misc3.nc"), { variable: "n", chunks: [2, -1] })).compute({
          scheduler: c.client,
        }),
        stored("misc3.nc", "n", "int16"),
        "n",
      );
      assertSame(
        await (await mw.fromNetcdf(fixture("nc/misc3.nc"), { variable: "flag" })).compute(sync),
        stored("misc3.nc", "flag", "int8"),
        "flag",
      );
    });
  });

  describe("values as stored, bit for bit", () => {
    test("air, packed precip (raw int16), time, lat and lon from every file, on the sync scheduler and a cluster", async () => {
      for (const file of CLIMATE) {
        const info = await mw.inspectNetcdf(fixture(`nc/${file}`));
        for (const [name, dtype] of [
          ["air", "float32"],
          ["precip", "int16"],
          ["time", file.startsWith("climate4") ? "float64" : "int32"],
          ["lat", "float64"],
          ["lon", "float64"],
        ] as const) {
          const x = netcdfVariable(info, name, name === "time" ? { dtype } : {});
          assert.equal(x.dtype, dtype);
          const want = stored(file, name, dtype);
          assertSame(await x.compute(sync), want, `${file} ${name} (sync)`);
          assertSame(await x.compute({ scheduler: c.client }), want, `${file} ${name} (cluster)`);
          assertSame(await readNetcdfVariable(info, name), want, `${file} ${name} (readNetcdfVariable)`);
        }
      }
    });

    test("NetCDF-4 odds and ends: chunks along an unlimited dimension, signed bytes, uint16, uint64 converted when asked", async () => {
      const file = fixture("nc/misc4.nc");
      assertSame(
        await (await mw.fromNetcdf(file, { variable: "temp" })).compute({ scheduler: c.client }),
        stored("misc4.nc", "temp", "float32"),
        "temp",
      );
      assertSame(
        await (await mw.fromNetcdf(file, { variable: "flag" })).compute(sync),
        stored("misc4.nc", "flag", "int8"),
        "flag",
      );
      assertSame(
        await (await mw.fromNetcdf(file, { variable: "level" })).compute(sync),
        stored("misc4.nc", "level", "uint16"),
        "level",
      );
      assertSame(
        await (await mw.fromNetcdf(file, { variable: "count", dtype: "float64" })).compute({ scheduler: c.client }),
        mw.NDArray.from([1, 2, 2 ** 40], { dtype: "float64" }),
        "count",
      );
    });

    test("char and string variables are read as strings on the client, and named as such when asked for as an array", async () => {
      const info = await mw.inspectNetcdf(fixture("nc/misc4.nc"));
      assert.deepEqual(await readNetcdfVariable(info, "name"), ["alpha", "beta", "gamma"]);
      assert.deepEqual(await readNetcdfVariable(info, "code"), ["A1", "B22", "C333"]);
      assert.throws(
        () => netcdfVariable(info, "name"),
        (e: Error) => e instanceof DTypeError && /characters/.test(e.message) && /readNetcdfVariable/.test(e.message),
      );
      assert.throws(
        () => netcdfVariable(info, "code"),
        (e: Error) => e instanceof DTypeError && /strings/.test(e.message),
      );
    });
  });

  describe("blocks as planned", () => {
    test("a chunked variable: one block per storage chunk; bigger chunks asked for are whole multiples of them", async () => {
      const air = await mw.fromNetcdf(fixture("nc/climate4.nc"), { variable: "air" });
      assert.deepEqual(air.chunks, [[40, 40, 40, 27], [5], [3, 3]]);
      assert.equal(air.taskCount, 8);
      const precip = await mw.fromNetcdf(fixture("nc/climate4.nc"), { variable: "precip" });
      assert.deepEqual(precip.chunks, [[40, 40, 40, 27], [5], [6]]);
      // 50 rows round up to 80 (two chunks of 40), 4 columns to 6 (two of 3)
      const big = await mw.fromNetcdf(fixture("nc/climate4.nc"), { variable: "air", chunks: [50, -1, 4] });
      assert.deepEqual(big.chunks, [[80, 67], [5], [6]]);
      assertSame(
        await big.compute({ scheduler: c.client }),
        stored("climate4.nc", "air", "float32"),
        "air in bigger blocks",
      );
    });

    test("contiguous and NetCDF-3 variables: rows along the first axis (near 128 MiB by default), each block one byte range or the records' slabs", async () => {
      for (const file of ["climate4_contiguous.nc", "climate3_64bit.nc", "climate3_classic.nc"]) {
        const whole = await mw.fromNetcdf(fixture(`nc/${file}`), { variable: "air" });
        assert.deepEqual(whole.chunks, [[147], [5], [6]], file);
        for (const [name, dtype] of [
          ["air", "float32"],
          ["precip", "int16"],
        ] as const) {
          const x = await mw.fromNetcdf(fixture(`nc/${file}`), { variable: name, chunks: [50, 2, 2] });
          assert.deepEqual(x.chunks, [[50, 50, 47], [5], [6]], `${file} ${name}: whole rows`);
          assertSame(
            await x.compute({ scheduler: c.client }),
            stored(file, name, dtype),
            `${file} ${name} in rows of 50`,
          );
          const single = await mw.fromNetcdf(fixture(`nc/${file}`), { variable: name, chunks: [1, -1, -1] });
          assert.equal(single.taskCount, 147);
          assertSame(await single.compute(sync), stored(file, name, dtype), `${file} ${name} a row at a time`);
        }
      }
    });

    test("a block holds only its own rows and chunks: a slice of the array computes from the blocks it touches", async () => {
      const x = await mw.fromNetcdf(fixture("nc/climate3_classic.nc"), { variable: "air", chunks: [10, -1, -1] });
      const part = (await x.slice({ start: 95, stop: 105 }).compute({ scheduler: c.client })) as mw.NDArray;
      assertSame(
        part,
        stored("climate3_classic.nc", "air", "float32").slice({ start: 95, stop: 105 }).contiguous(),
        "rows 95-105",
      );
    });
  });

  describe("over HTTP", () => {
    test("NetCDF-3: the header from a prefix and each block by byte ranges, never the whole file", async () => {
      requests.length = 0;
      const url = `${base}climate3_classic.nc`;
      const info = await mw.inspectNetcdf(url);
      assert.equal(info.url, url);
      assert.deepEqual(
        requests.map((r) => r.range),
        ["bytes=0-65535"],
        "the header: one read of the first 64 KiB",
      );
      requests.length = 0;
      const x = netcdfVariable(info, "air", { chunks: [40, -1, -1] });
      assertSame(
        await x.compute({ scheduler: c.client }),
        stored("climate3_classic.nc", "air", "float32"),
        "air over HTTP (cluster)",
      );
      // Records are 184 bytes apart (air, precip and time interleaved): a block of 40 rows is one
      // range from its first record's air to its last's. The workers read the header once each.
      const blocks = requests.filter((r) => r.range !== "bytes=0-65535");
      assert.equal(blocks.length, 4);
      assert.ok(
        blocks.every((r) => r.range !== undefined && r.bytes <= 39 * 184 + 120),
        JSON.stringify(blocks),
      );
      assertSame(
        await netcdfVariable(info, "precip").compute(sync),
        stored("climate3_classic.nc", "precip", "int16"),
        "precip over HTTP (sync)",
      );
      assertSame(
        await readNetcdfVariable(info, "lat"),
        stored("climate3_classic.nc", "lat", "float64"),
        "lat over HTTP",
      );
      assert.ok(
        requests.every((r) => r.range !== undefined),
        "every request asks for a range",
      );
    });

    test("NetCDF-4: fetched whole once per process into h5wasm's memory", async () => {
      requests.length = 0;
      const url = `${base}climate4.nc`;
      const info = await mw.inspectNetcdf(url);
      assert.equal(info.format, "netcdf4");
      const x = netcdfVariable(info, "air");
      assertSame(
        await x.compute({ scheduler: c.client }),
        stored("climate4.nc", "air", "float32"),
        "air over HTTP (cluster)",
      );
      assertSame(
        await netcdfVariable(info, "precip").compute(sync),
        stored("climate4.nc", "precip", "int16"),
        "precip over HTTP (sync)",
      );
      const whole = requests.filter((r) => r.range === undefined);
      // the client's inspect, and each of at most two worker threads: not one per task (8 tasks)
      assert.ok(whole.length >= 1 && whole.length <= 3, `${whole.length} whole-file fetches`);
    });
  });

  describe("what goes wrong is named, and the cluster keeps working", () => {
    test("a missing file, a file that is not NetCDF, a truncated header", async () => {
      const missing = join(tmp, "nothing-here.nc");
      await assert.rejects(
        mw.inspectNetcdf(missing),
        (e: Error) => e instanceof StoreError && e.message.includes(missing) && /no file/.test(e.message),
      );
      await assert.rejects(
        mw.inspectNetcdf(`${base}nothing-here.nc`),
        (e: Error) => e instanceof StoreError && /nothing-here\.nc/.test(e.message),
      );
      const text = join(tmp, "notes.nc");
      writeFileSync(text, "these are notes, not a NetCDF file\n");
      await assert.rejects(
        mw.inspectNetcdf(text),
        (e: Error) => e instanceof FormatError && /notes\.nc is not a NetCDF file/.test(e.message),
      );
      const header = join(tmp, "header.nc");
      writeFileSync(header, readFileSync(fixture("nc/climate3_classic.nc")).subarray(0, 100));
      await assert.rejects(
        mw.inspectNetcdf(header),
        (e: Error) => e instanceof FormatError && /header\.nc is truncated/.test(e.message),
      );
    });

    test("a truncated NetCDF-4 file fails to open, naming the file and saying so", async () => {
      const cut = join(tmp, "cut4.nc");
      writeFileSync(cut, readFileSync(fixture("nc/climate4.nc")).subarray(0, 20000));
      await assert.rejects(
        mw.inspectNetcdf(cut),
        (e: Error) => e instanceof FormatError && /cut4\.nc is truncated/.test(e.message) && /eof/.test(e.message),
      );
    });

    test("a truncated NetCDF-3 file fails the tasks that read past its end, with a StoreError saying so; the other blocks and the cluster are fine", async () => {
      const cut = join(tmp, "cut3.nc");
      writeFileSync(cut, readFileSync(fixture("nc/climate3_64bit.nc")).subarray(0, 12000));
      const x = await mw.fromNetcdf(cut, { variable: "air", chunks: [50, -1, -1] });
      // air starts at byte 796, 120 bytes a row: rows 0-49 are there, rows 50-99 are cut
      assertSame(
        await x.slice({ start: 0, stop: 50 }).compute({ scheduler: c.client }),
        stored("climate3_64bit.nc", "air", "float32").slice({ start: 0, stop: 50 }).contiguous(),
        "the rows that are there",
      );
      await assert.rejects(
        x.compute(sync),
        (e: Error) => e instanceof StoreError && /cut3\.nc/.test(e.message) && /truncated/.test(e.message),
      );
      await assert.rejects(
        x.sum().compute({ scheduler: c.client }),
        (e: Error) => e instanceof RemoteError && e.remoteName === "StoreError" && /truncated/.test(e.message),
      );
      const ok = await mw.fromNetcdf(fixture("nc/climate3_64bit.nc"), { variable: "lat" });
      assertSame(
        await ok.compute({ scheduler: c.client }),
        stored("climate3_64bit.nc", "lat", "float64"),
        "a task after the failures",
      );
    });

    test("an unknown variable lists the variables there; a type meshwork lacks names the nearest; bad options are named", async () => {
      const file = fixture("nc/climate4.nc");
      await assert.rejects(
        mw.fromNetcdf(file, { variable: "temperature" }),
        (e: Error) =>
          e instanceof LabelError &&
          /no variable "temperature"/.test(e.message) &&
          /air, precip, time, lat, lon/.test(e.message),
      );
      await assert.rejects(
        mw.fromNetcdf(file, { variable: "time" }),
        (e: Error) => e instanceof DTypeError && /int64/.test(e.message) && /dtype: "float64"/.test(e.message),
      );
      await assert.rejects(
        mw.fromNetcdf(fixture("nc/misc4.nc"), { variable: "count" }),
        (e: Error) => e instanceof DTypeError && /uint64/.test(e.message) && /float64/.test(e.message),
      );
      await assert.rejects(
        mw.fromNetcdf(file, {} as never),
        (e: Error) => e instanceof ArgumentError && /needs \{ variable \}/.test(e.message) && /air/.test(e.message),
      );
      await assert.rejects(
        mw.fromNetcdf(file, { variable: "air", chunk: 3 } as never),
        (e: Error) => e instanceof ArgumentError && /"chunk"/.test(e.message),
      );
      const info = await mw.inspectNetcdf(file);
      await assert.rejects(
        readNetcdfVariable(info, "nope"),
        (e: Error) => e instanceof LabelError && /lon/.test(e.message),
      );
    });

    test("a file changed after it was planned from: the task says what changed; the cluster keeps serving", async () => {
      // NetCDF-4: air [147, 5, 6] becomes bad_lat.nc's air [73, 4, 6], rewritten in place
      const f4 = join(tmp, "changed4.nc");
      copyFileSync(fixture("nc/climate4_contiguous.nc"), f4);
      const info4 = await mw.inspectNetcdf(f4);
      assertSame(
        await netcdfVariable(info4, "air").compute({ scheduler: c.client }),
        stored("climate4_contiguous.nc", "air", "float32"),
        "before",
      );
      copyFileSync(fixture("nc/bad_lat.nc"), f4);
      // Planned from what the file was (new block sizes, so the blocks are not ones already computed).
      const stale4 = netcdfVariable(info4, "air", { chunks: [100, -1, -1] });
      await assert.rejects(
        stale4.compute({ scheduler: c.client }),
        (e: Error) =>
          e instanceof RemoteError &&
          e.remoteName === "FormatError" &&
          /changed4\.nc variable air changed since the file was opened: it is now float32 \[73,4,6\], planned as float32 \[147,5,6\]/.test(
            e.message,
          ),
      );
      await assert.rejects(
        stale4.compute(sync),
        (e: Error) => e instanceof FormatError && /changed since the file was opened/.test(e.message),
      );

      // NetCDF-3: a variable that is no longer there
      const f3 = join(tmp, "changed3.nc");
      copyFileSync(fixture("nc/climate3_classic.nc"), f3);
      const info3 = await mw.inspectNetcdf(f3);
      assertSame(
        await netcdfVariable(info3, "air").compute({ scheduler: c.client }),
        stored("climate3_classic.nc", "air", "float32"),
        "before",
      );
      copyFileSync(fixture("nc/misc3.nc"), f3);
      await assert.rejects(
        netcdfVariable(info3, "air", { chunks: [100, -1, -1] }).compute({ scheduler: c.client }),
        (e: Error) =>
          e instanceof RemoteError &&
          e.remoteName === "FormatError" &&
          /changed3\.nc variable air is not in the file any more/.test(e.message),
      );

      assertSame(
        await (await mw.fromNetcdf(fixture("nc/climate4.nc"), { variable: "lon" })).compute({ scheduler: c.client }),
        stored("climate4.nc", "lon", "float64"),
        "a task after the failures",
      );
    });
  });
});
