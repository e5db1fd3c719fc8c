"""The Zarr workloads of bench/zarr.mjs on xarray + Dask, for the side-by-side comparison.

Run with Debian's Python (python3-xarray, python3-zarr, python3-distributed; python3-aiohttp for
the HTTP variant): /usr/bin/python3 bench/dask_zarr.py ...

--make DIR: writes DIR/air2g.zarr unless it is there, as ../shared/anchors/more/xarray_zarr_mean.py
does: float32 time x lat x lon = 2048 x 500 x 500 (random normal x 3 + 280), chunks of
32 x 500 x 500 (32 MB), xarray's default compressor (Blosc LZ4, level 5, byte shuffle). Prints
one JSON line.

--serve: keeps a LocalCluster(n_workers=2, threads_per_worker=1) up and runs one workload per line
of standard input, {"scheduler": "threads" | "cluster", "source": URL or path, "workload": name},
answering one JSON line each: {"s", "open_s", "value", "abs_value", "peak_rss_bytes",
"rss_before_bytes"}. The workloads (WORKLOADS below; xarray's reductions skip NaN by default):

  mean          ds.air.mean("time")
  climatology   ds.air.groupby("time.month").mean("time")
  anomaly       clim = ds.air.groupby("time.month").mean("time")
                (ds.air.groupby("time.month") - clim).mean(["lat", "lon"])   (clim left lazy, as written)

each on ds = xr.open_zarr(source), computed and timed with the open; the threaded scheduler runs
with num_workers=2. An http:// source is read through fsspec's HTTP file system (aiohttp). Peak
memory is sampled every 20 ms during the run: for the threaded scheduler this process, for the
cluster this process (client and scheduler) and its children (the nannies and worker processes).
"""
import argparse, contextlib, gc, json, os, subprocess, sys, threading, time

import dask
import numpy as np
import psutil
import xarray as xr

SHAPE = (2048, 500, 500)
CHUNKS = (32, 500, 500)


def make(d):
    store = os.path.join(d, "air2g.zarr")
    if os.path.exists(os.path.join(store, "air", ".zarray")):
        return {"store": store, "made": False}
    import dask.array as da
    import pandas as pd
    os.makedirs(d, exist_ok=True)
    t = time.perf_counter()
    nt, ny, nx = SHAPE
    air = (da.random.RandomState(1).standard_normal(SHAPE, chunks=CHUNKS) * 3 + 280).astype("float32")
    ds = xr.Dataset(
        {"air": (("time", "lat", "lon"), air)},
        coords={"time": pd.date_range("2000-01-01", periods=nt, freq="D"), "lat": np.linspace(90, -90, ny), "lon": np.linspace(0, 359.5, nx)},
    )
    with dask.config.set(scheduler="threads", num_workers=2):
        ds.to_zarr(store, mode="w")
    return {"store": store, "made": True, "s": round(time.perf_counter() - t, 1)}


class PeakRss:
    """The largest resident memory of this process (and its children when asked), sampled every 20 ms."""

    def __init__(self, children):
        self.peak = 0
        self._children = children
        self._stop = threading.Event()
        self._me = psutil.Process(os.getpid())
        self._t = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        procs = [self._me] + (self._me.children(recursive=True) if self._children else [])
        total = 0
        for p in procs:
            with contextlib.suppress(psutil.Error):
                total += p.memory_info().rss
        self.peak = max(self.peak, total)

    def _run(self):
        while not self._stop.is_set():
            with contextlib.suppress(psutil.Error):
                self.sample()
            time.sleep(0.02)

    def __enter__(self):
        self.sample()
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self.sample()


def anomaly(ds):
    clim = ds.air.groupby("time.month").mean("time")
    return (ds.air.groupby("time.month") - clim).mean(["lat", "lon"])


WORKLOADS = {
    "mean": lambda ds: ds.air.mean("time"),
    "climatology": lambda ds: ds.air.groupby("time.month").mean("time"),
    "anomaly": anomaly,
}


def run(source, scheduler, workload):
    children = scheduler == "cluster"
    before = PeakRss(children)
    before.sample()
    with PeakRss(children) as peak:
        t = time.perf_counter()
        ds = xr.open_zarr(source)
        t_open = time.perf_counter() - t
        result = WORKLOADS[workload](ds).compute()
        s = time.perf_counter() - t
        values = np.asarray(result.values, dtype=np.float64)
        value, abs_value = float(values.mean()), float(np.abs(values).mean())
        del ds, result
    return {"s": s, "open_s": t_open, "value": value, "abs_value": abs_value, "peak_rss_bytes": peak.peak, "rss_before_bytes": before.peak}


def debian_version(package):
    """Debian's version of a package (Debian's xarray calls itself 999), or None off Debian."""
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True, timeout=10)
    except OSError:
        return None
    return r.stdout.strip() or None


def serve():
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster, set_as_default=False)
    client.submit(lambda: 1).result()
    try:
        import aiohttp  # noqa: F401  fsspec's HTTP file system needs it
        http = True
    except ImportError:
        http = False
    import distributed
    try:
        import flox  # xarray's grouped reductions use it when it is installed
        flox_version = flox.__version__
    except ImportError:
        flox_version = None
    print(json.dumps({"ready": True, "dask": dask.__version__, "distributed": distributed.__version__, "xarray": xr.__version__, "xarray_package": debian_version("python3-xarray"), "numpy": np.__version__, "flox": flox_version, "http": http}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            workload = cmd.get("workload", "mean")
            if cmd["scheduler"] == "threads":
                with dask.config.set(scheduler="threads", num_workers=2):
                    out = run(cmd["source"], "threads", workload)
            else:
                with dask.config.set(scheduler=client):
                    out = run(cmd["source"], "cluster", workload)
        except Exception as e:  # answered as data: the benchmark reports it and goes on
            out = {"error": f"{type(e).__name__}: {e}"}
        gc.collect()
        print(json.dumps(out), flush=True)
    client.close()
    cluster.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--make", metavar="DIR")
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    if args.make:
        print(json.dumps(make(args.make)), flush=True)
    if args.serve:
        serve()


if __name__ == "__main__":
    main()
