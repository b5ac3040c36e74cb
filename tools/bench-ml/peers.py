#!/usr/bin/env python3
"""One peer framework's numbers, one thread, as JSON on stdout (run by bench.py).
usage: peers.py --framework {numpy,sklearn,keras,torch} --data DIR [--epochs 10]
Same data, split, standardisation (fit on train rows), net (in -> 64 relu -> 64 relu -> k softmax),
Adam lr 0.001, batch 32 as MLBench. Keras's epsilon is 1e-7 (torch set to match; sklearn's is 1e-8)."""
import argparse
import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
ap = argparse.ArgumentParser()
ap.add_argument("--framework", required=True, choices=["numpy", "sklearn", "keras", "torch"])
ap.add_argument("--data", required=True)
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--datasets", default="synthetic,digits")
args = ap.parse_args()
FW = args.framework

# Thread limits before any work (TF's must precede its runtime start).
if FW == "keras":
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import keras
elif FW == "torch":
    import torch
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

_limits = threadpool_limits(limits=1)  # numpy's and sklearn's OpenBLAS, kept for the whole process


def load(name):
    arr = np.loadtxt(os.path.join(args.data, f"{name}.csv"), delimiter=",", skiprows=1, dtype=np.float64)
    X, y = arr[:, :-1], arr[:, -1].astype(np.int64)
    with open(os.path.join(args.data, f"{name}_split.json")) as f:
        split = json.load(f)
    tr, te = np.array(split["train"]), np.array(split["test"])
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0)
    sd[sd == 0] = 1.0
    Xs = ((X - mu) / sd).astype(np.float32)
    return Xs[tr], y[tr], Xs[te], y[te], int(y.max()) + 1


def time_calls(fn, calls=5000, warmup=200):
    for _ in range(warmup):
        fn()
    ts = []
    for _ in range(calls):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def rows1024(Xte):
    return np.ascontiguousarray(Xte[np.arange(1024) % len(Xte)])


def gemm(n, reps):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(np.float32)
    b = rng.standard_normal((n, n)).astype(np.float32)
    c = np.empty((n, n), np.float32)
    for _ in range(2):
        np.matmul(a, b, out=c)
    ts = []
    for _ in range(reps):
        t0 = time.perf_counter()
        np.matmul(a, b, out=c)
        ts.append(time.perf_counter() - t0)
    flop = 2.0 * n ** 3
    return {"best_gflops": flop / min(ts) / 1e9, "median_gflops": flop / statistics.median(ts) / 1e9}


def numpy_forward(d, k):
    rng = np.random.default_rng(0)

    def glorot(i, o):
        lim = np.sqrt(6.0 / (i + o))
        return rng.uniform(-lim, lim, (i, o)).astype(np.float32)

    W1, W2, W3 = glorot(d, 64), glorot(64, 64), glorot(64, k)
    b1, b2, b3 = np.zeros(64, np.float32), np.zeros(64, np.float32), np.zeros(k, np.float32)

    def forward(x):
        h = x @ W1
        h += b1
        np.maximum(h, 0, out=h)
        h2 = h @ W2
        h2 += b2
        np.maximum(h2, 0, out=h2)
        z = h2 @ W3
        z += b3
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    return forward


def train(name):
    Xtr, ytr, Xte, yte, k = load(name)
    t0 = time.perf_counter()
    if FW == "sklearn":
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
        warnings.filterwarnings("ignore", category=ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(64, 64), activation="relu", solver="adam", alpha=0.0, batch_size=32,
                            learning_rate_init=0.001, max_iter=args.epochs, shuffle=True, random_state=0)
        clf.fit(Xtr, ytr)
        fit = time.perf_counter() - t0
        pred = clf.predict(Xte)
        one = lambda: clf.predict_proba(Xte[:1])  # noqa: E731
        batch = lambda: clf.predict_proba(xb)  # noqa: E731
    elif FW == "keras":
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input(shape=(Xtr.shape[1],)), keras.layers.Dense(64, activation="relu"),
                                  keras.layers.Dense(64, activation="relu"), keras.layers.Dense(k, activation="softmax")])
        model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.001), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(Xtr, ytr, batch_size=32, epochs=args.epochs, shuffle=True, verbose=0)
        fit = time.perf_counter() - t0
        pred = model.predict(Xte, batch_size=1024, verbose=0).argmax(axis=1)
        x1 = Xte[:1].copy()
        one = lambda: model.predict_on_batch(x1)  # noqa: E731
        batch = lambda: model.predict_on_batch(xb)  # noqa: E731
    else:  # torch
        import torch.nn as nn
        import torch.nn.functional as F
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        model = nn.Sequential(nn.Linear(Xtr.shape[1], 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, k))
        for m in model:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        opt = torch.optim.Adam(model.parameters(), lr=0.001, eps=1e-7)
        X, Y = torch.from_numpy(Xtr), torch.from_numpy(ytr)
        for _ in range(args.epochs):
            perm = torch.randperm(len(Y), generator=g)
            for i in range(0, len(Y), 32):
                idx = perm[i:i + 32]
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(X[idx]), Y[idx]).backward()
                opt.step()
        fit = time.perf_counter() - t0
        model.eval()
        with torch.inference_mode():
            pred = model(torch.from_numpy(Xte)).argmax(dim=1).numpy()

        def infer(x):
            with torch.inference_mode():
                return torch.softmax(model(x), dim=1).numpy()
        x1, xbt = torch.from_numpy(Xte[:1].copy()), None
        one = lambda: infer(x1)  # noqa: E731
        batch = lambda: infer(xbt)  # noqa: E731
    xb = rows1024(Xte)
    if FW == "torch":
        xbt = torch.from_numpy(xb)  # noqa: F841 (read by the batch lambda)
    acc = float((pred == yte).mean())
    lat = time_calls(one, calls=1000 if FW == "keras" else 3000, warmup=50)
    bt = time_calls(batch, calls=100, warmup=5)
    print(f"[{FW}] {name}: fit {fit:.2f} s, {len(ytr) * args.epochs / fit:.0f} samples/s, accuracy {acc:.4f}, "
          f"1 row {lat * 1e6:.1f} us, 1024 rows {1024 / bt:.0f}/s", file=sys.stderr, flush=True)
    return {"fit_s": fit, "epochs": args.epochs, "train_rows": len(ytr), "samples_per_s": len(ytr) * args.epochs / fit,
            "accuracy": acc, "latency_1_row_us": lat * 1e6, "batch_1024_rows_per_s": 1024 / bt}


def main():
    out = {"framework": FW}
    if FW == "numpy":
        out["numpy"] = np.__version__
        for n, reps in ((256, 200), (1024, 20)):
            out[f"matmul_{n}_t1"] = gemm(n, reps)
            print(f"[numpy] matmul {n}: best {out[f'matmul_{n}_t1']['best_gflops']:.1f} GFLOP/s", file=sys.stderr)
        for name, d in (("synthetic", 100), ("digits", 64)):
            fwd = numpy_forward(d, 10)
            x1 = np.random.default_rng(1).standard_normal((1, d)).astype(np.float32)
            xb = np.random.default_rng(2).standard_normal((1024, d)).astype(np.float32)
            lat = time_calls(lambda: fwd(x1))
            bt = time_calls(lambda: fwd(xb), calls=200, warmup=10)
            out[name] = {"latency_1_row_us": lat * 1e6, "batch_1024_rows_per_s": 1024 / bt}
            print(f"[numpy] {name} forward: 1 row {lat * 1e6:.1f} us, 1024 rows {1024 / bt:.0f}/s", file=sys.stderr)
    else:
        for name in args.datasets.split(","):
            out[name] = train(name)
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
