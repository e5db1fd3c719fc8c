"""Dask's side of bench/dataframe-shuffle.mjs: the same frames, made the same way on the workers
(LocalCluster(n_workers=2, threads_per_worker=1)), then a hash shuffle, a shuffle join and a sort,
each timed from the call to its partitions held on the workers (persist). Prints one JSON object.

    /usr/bin/python3 bench/dask_shuffle.py --parts 8 --rows 500000
"""

import argparse
import json
import time

import numpy as np
import pandas as pd
import dask
import dask.dataframe as dd
from dask.distributed import Client, LocalCluster, wait


def make(seed, rows, keys, tag):
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"k": rng.integers(0, keys, rows), tag: rng.random(rows), "id": np.arange(seed * rows, (seed + 1) * rows)})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", type=int, default=8)
    ap.add_argument("--rows", type=int, default=500_000)
    ap.add_argument("--runs", type=int, default=2)
    a = ap.parse_args()
    keys = a.parts * a.rows // 2
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, Client(cluster) as client:
        meta_a = make(0, 0, 1, "v")
        meta_b = make(0, 0, 1, "w")
        A = dd.from_delayed([dask.delayed(make)(i, a.rows, keys, "v") for i in range(a.parts)], meta=meta_a).persist()
        B = dd.from_delayed([dask.delayed(make)(1000 + i, a.rows // 4, keys, "w") for i in range(a.parts)], meta=meta_b).persist()
        wait([A, B])
        ops = {
            # Each run into a different number of partitions, so no run finds another's results held.
            "shuffle": lambda r: A.shuffle("k", shuffle="tasks", npartitions=a.parts + r),
            "merge": lambda r: A.merge(B[["k", "w"]], on="k", how="inner", shuffle="tasks", broadcast=False, npartitions=a.parts + r),
            "sortValues": lambda r: A.sort_values("v", npartitions=a.parts + r),
        }
        out = {"dask": dask.__version__, "pandas": pd.__version__}
        for name, op in ops.items():
            times = []
            for r in range(a.runs):
                t0 = time.perf_counter()
                held = op(r).persist()  # sort_values samples its divisions here, as meshwork's does
                wait(held)
                times.append(time.perf_counter() - t0)
                n = len(held)
                del held
            out[name] = {"s": round(min(times), 3), "runs": [round(t, 3) for t in times], "rows": int(n)}
        print(json.dumps(out))


if __name__ == "__main__":
    main()
