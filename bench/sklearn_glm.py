"""The scikit-learn side of bench/glm.mjs: logistic regression on the same data, in the same run.

    /opt/glmvenv/bin/python bench/sklearn_glm.py --serve --n 10000000 --p 20 --chunk 250000 --dir /tmp/glm-bench
    /usr/bin/python3 bench/sklearn_glm.py --serve --load --dir /tmp/glm-bench      (Debian's sklearn, same files)

The data is the anchor's (../shared/anchors/more/sklearn_logistic.py): X standard normal, beta
standard normal, y = (X @ beta + logistic noise > 0), numpy's default_rng(1). Without --load it is
generated here and written to DIR as uncompressed Zarr v2 arrays X and y (a .zarray document and a
raw little-endian file per chunk: what zarr-python writes with compressor=None), which meshwork
reads with fromZarr, one chunk per task on its workers. With --load it is read back from DIR.

It then answers one JSON request per line of standard input with one JSON line:
  {"op": "fit", "C": 1, "tol": 1e-6, "solver": "lbfgs"}  →  {"fit_s", "n_iter", "coef", "intercept"}
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import LogisticRegression


def write_zarr(path, a, chunk):
    os.makedirs(path, exist_ok=True)
    chunks = [chunk] + list(a.shape[1:])
    meta = {"zarr_format": 2, "shape": list(a.shape), "chunks": chunks, "dtype": "<f8", "compressor": None, "fill_value": 0.0, "order": "C", "filters": None}
    with open(os.path.join(path, ".zarray"), "w") as f:
        json.dump(meta, f)
    for i, start in enumerate(range(0, a.shape[0], chunk)):
        block = np.zeros(chunks, dtype="<f8")  # edge chunks are stored whole, padded
        part = a[start : start + chunk]
        block[: part.shape[0]] = part
        name = ".".join([str(i)] + ["0"] * (a.ndim - 1))
        block.tofile(os.path.join(path, name))


def read_zarr(path):
    with open(os.path.join(path, ".zarray")) as f:
        meta = json.load(f)
    shape, chunks = meta["shape"], meta["chunks"]
    out = np.empty(shape, dtype="<f8")
    for i, start in enumerate(range(0, shape[0], chunks[0])):
        name = ".".join([str(i)] + ["0"] * (len(shape) - 1))
        block = np.fromfile(os.path.join(path, name), dtype="<f8").reshape(chunks)
        stop = min(start + chunks[0], shape[0])
        out[start:stop] = block[: stop - start]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--serve", action="store_true")
    ap.add_argument("--load", action="store_true")
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--p", type=int, default=20)
    ap.add_argument("--chunk", type=int, default=250_000)
    ap.add_argument("--dir", required=True)
    a = ap.parse_args()
    t = time.perf_counter()
    if a.load:
        X = read_zarr(os.path.join(a.dir, "X"))
        y = read_zarr(os.path.join(a.dir, "y"))
    else:
        rng = np.random.default_rng(1)
        X = rng.standard_normal((a.n, a.p))
        beta = rng.standard_normal(a.p)
        y = (X @ beta + rng.logistic(size=a.n) > 0).astype(np.float64)
        write_zarr(os.path.join(a.dir, "X"), X, a.chunk)
        write_zarr(os.path.join(a.dir, "y"), y, a.chunk)
    print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "n": X.shape[0], "p": X.shape[1], "data_s": round(time.perf_counter() - t, 2)}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req["op"] != "fit":
            print(json.dumps({"error": f"unknown op {req['op']}"}), flush=True)
            continue
        m = LogisticRegression(solver=req.get("solver", "lbfgs"), C=req.get("C", 1.0), tol=req.get("tol", 1e-6), max_iter=req.get("max_iter", 1000))
        t = time.perf_counter()
        m.fit(X, y)
        fit = time.perf_counter() - t
        n_iter = int(np.ravel(m.n_iter_)[0])
        print(json.dumps({"fit_s": fit, "n_iter": n_iter, "coef": m.coef_.ravel().tolist(), "intercept": float(m.intercept_[0])}), flush=True)


if __name__ == "__main__":
    main()
