"""The array workload of bench/array.mjs on Dask, for a side-by-side comparison.

Run with Debian's Python (python3-distributed): /usr/bin/python3 bench/dask_array.py [--runs N] [--n 20000] [--chunk 2000]
Prints one JSON object. Cluster: LocalCluster(n_workers=2, threads_per_worker=1), as in
../shared/anchors/dask/bench_array.py; also Dask's threaded scheduler (num_workers=2).

With --serve, it keeps a cluster up and runs one workload per line of standard input
({"op": "W" | "persist_sum", "seed": s, "scheduler": "cluster" | "threads"}), answering one JSON
line each; bench/array.mjs uses this to alternate meshwork and Dask runs, so that both meet the
same state of a noisy shared machine.

Workload W: x = da.random.random((n, n), chunks=(c, c)); (x + x.T).mean(axis=0).sum().compute()
Then: x.persist() (waited for), x.sum() on the persisted array.
Each figure: one untimed warm-up run, then the median of --runs runs. Peak memory: the largest
sum of resident memory over this process and its children, sampled every 50 ms.
"""
import argparse, contextlib, gc, json, os, statistics, sys, threading, time

import dask
import dask.array as da
import psutil
from distributed import Client, LocalCluster, wait


class PeakRss:
    """Samples the RSS of this process and its children (the cluster's worker processes)."""

    def __init__(self):
        self.peak = 0
        self._stop = threading.Event()
        self._me = psutil.Process(os.getpid())
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            total = 0
            try:
                procs = [self._me] + self._me.children(recursive=True)
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()


def stats(xs):
    return {"median": round(statistics.median(xs[1:]), 3), "runs": [round(x, 3) for x in xs[1:]], "warmup_s": round(xs[0], 3)}


def figures(n, c, runs, scheduler=None):
    kw = {} if scheduler is None else {"scheduler": scheduler}
    w, pers, sm = [], [], []
    value = None
    for seed in range(runs + 1):
        x = da.random.RandomState(seed).random_sample((n, n), chunks=(c, c))
        t = time.perf_counter()
        value = float((x + x.T).mean(axis=0).sum().compute(**kw))
        w.append(time.perf_counter() - t)
        del x
        x = da.random.RandomState(seed).random_sample((n, n), chunks=(c, c))
        t = time.perf_counter()
        if scheduler is None:
            xp = x.persist()
            wait(xp)
        else:
            (xp,) = dask.persist(x, **kw)
        pers.append(time.perf_counter() - t)
        t = time.perf_counter()
        xp.sum().compute(**kw)
        sm.append(time.perf_counter() - t)
        del x, xp
        gc.collect()
        time.sleep(0.3)
    return {"W_s": stats(w), "persist_s": stats(pers), "sum_persisted_s": stats(sm), "check_mean_over_n": round(value / n, 4)}


def serve(n, c):
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.submit(lambda: 1).result()
    print(json.dumps({"ready": True, "dask": dask.__version__}), flush=True)
    with PeakRss() as peak:
        for line in sys.stdin:
            cmd = json.loads(line)
            kw = {} if cmd.get("scheduler", "cluster") == "cluster" else {"scheduler": "threads"}
            ctx = dask.config.set(scheduler="threads", num_workers=2) if kw else contextlib.nullcontext()
            with ctx:
                x = da.random.RandomState(cmd["seed"]).random_sample((n, n), chunks=(c, c))
                if cmd["op"] == "W":
                    t = time.perf_counter()
                    v = float((x + x.T).mean(axis=0).sum().compute(**kw))
                    out = {"s": time.perf_counter() - t, "value": v}
                elif cmd["op"] == "persist_sum":
                    t = time.perf_counter()
                    if kw:
                        (xp,) = dask.persist(x, **kw)
                    else:
                        xp = x.persist()
                        wait(xp)
                    p = time.perf_counter() - t
                    t = time.perf_counter()
                    xp.sum().compute(**kw)
                    out = {"persist_s": p, "sum_s": time.perf_counter() - t}
                    del xp
                elif cmd["op"] == "peak":
                    out = {"peak_rss_bytes": peak.peak}
                else:
                    out = {"error": f"unknown op {cmd['op']}"}
                del x
                gc.collect()
            print(json.dumps(out), flush=True)
    client.close()
    cluster.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--chunk", type=int, default=2000)
    ap.add_argument("--modes", default="cluster,threads")
    ap.add_argument("--serve", action="store_true")
    args = ap.parse_args()
    if args.serve:
        return serve(args.n, args.chunk)
    out = {"dask": dask.__version__, "shape": [args.n, args.n], "chunks": [args.chunk, args.chunk]}
    for mode in args.modes.split(","):
        if mode == "cluster":
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
            client = Client(cluster)
            client.submit(lambda: 1).result()
            with PeakRss() as peak:
                res = figures(args.n, args.chunk, args.runs)
            res["peak_rss_bytes"] = peak.peak
            res["scheduler"] = "LocalCluster(n_workers=2, threads_per_worker=1)"
            client.close()
            cluster.close()
            out["cluster"] = res
        elif mode == "threads":
            with dask.config.set(scheduler="threads", num_workers=2), PeakRss() as peak:
                res = figures(args.n, args.chunk, args.runs, scheduler="threads")
            res["peak_rss_bytes"] = peak.peak
            res["scheduler"] = "threaded, num_workers=2"
            out["threads"] = res
    print(json.dumps(out))


if __name__ == "__main__":
    main()
