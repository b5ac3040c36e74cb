#!/usr/bin/env python3
"""The classic families, Modelwire against scikit-learn, side by side on the same splits (issue 16).

Modelwire: the release-built ClassicBench (each family with its defaults: Trainer.train, standardisation for
the linear families included). scikit-learn, one thread (threadpoolctl, OMP_NUM_THREADS=1, n_jobs=1), each
estimator with its defaults; the linear ones behind a StandardScaler fitted in the timed fit, as Modelwire does.
Fit time only (no CSV loading), wall clock and process CPU time (the fairer measure when other processes share
the machine); accuracy on the fixed test split. Prints a markdown table, ratio = sklearn time / Modelwire time
(> 1: Modelwire is faster), on CPU time.
usage: classic.py --bench PATH/ClassicBench --data DIR [--datasets iris,breast_cancer,digits,synthetic]
                  [--families logistic,svm,tree,forest,gbdt] [--forest-threads 2] [--json out.json]"""
import argparse
import json
import os
import subprocess
import sys
import time

os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402
from sklearn.tree import DecisionTreeClassifier  # noqa: E402
import sklearn  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--datasets", default="iris,breast_cancer,digits,synthetic")
ap.add_argument("--families", default="logistic,svm,tree,forest,gbdt")
ap.add_argument("--forest-threads", type=int, default=2, help="also time Modelwire's forest with this many threads")
ap.add_argument("--json", default="")
args = ap.parse_args()
_limits = threadpool_limits(limits=1)

PEERS = {
    "logistic": lambda: make_pipeline(StandardScaler(), LogisticRegression()),
    "svm": lambda: make_pipeline(StandardScaler(), LinearSVC()),
    "tree": lambda: DecisionTreeClassifier(random_state=0),
    "forest": lambda: RandomForestClassifier(n_jobs=1, random_state=0),
    "gbdt": lambda: HistGradientBoostingClassifier(random_state=0),
}


def load(name):
    arr = np.loadtxt(os.path.join(args.data, f"{name}.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    X, y = arr[:, :-1], arr[:, -1].astype(np.int64)
    with open(os.path.join(args.data, f"{name}_split.json")) as f:
        split = json.load(f)
    tr, te = np.array(split["train"]), np.array(split["test"])
    return X[tr], y[tr], X[te], y[te]


def modelwire(name, families, threads=1):
    out = subprocess.run([args.bench, args.data, name, ",".join(families), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    return {r["family"]: r for r in map(json.loads, out.splitlines())}


rows = []
families = args.families.split(",")
for name in args.datasets.split(","):
    Xtr, ytr, Xte, yte = load(name)
    ours = modelwire(name, families)
    ours2 = modelwire(name, ["forest"], args.forest_threads) if "forest" in families and args.forest_threads > 1 else {}
    for family in families:
        model = PEERS[family]()
        t0, c0 = time.perf_counter(), time.process_time()
        model.fit(Xtr, ytr)
        fit, cpu = time.perf_counter() - t0, time.process_time() - c0
        acc = float((model.predict(Xte) == yte).mean())
        row = {"dataset": name, "family": family, "modelwire_accuracy": ours[family]["accuracy"],
               "modelwire_fit_s": ours[family]["fit_s"], "modelwire_iterations": ours[family]["iterations"],
               "modelwire_cpu_s": ours[family]["cpu_s"], "sklearn_accuracy": acc, "sklearn_fit_s": fit, "sklearn_cpu_s": cpu}
        if family == "forest" and ours2:
            row["modelwire_fit_s_threads"] = ours2["forest"]["fit_s"]
        rows.append(row)
        print(f"[classic] {name} {family}: modelwire {row['modelwire_accuracy']:.4f} in {row['modelwire_fit_s']:.3f} s, "
              f"(cpu {row['modelwire_cpu_s']:.3f} s), sklearn {acc:.4f} in {fit:.3f} s (cpu {cpu:.3f} s)",
              file=sys.stderr, flush=True)

print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, 1 thread each"
      f" (Modelwire forest also with {args.forest_threads} threads)\n")
print("| data | family | Modelwire acc | sklearn acc | Δ pt | Modelwire CPU s (wall) | sklearn CPU s (wall) | speed (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for r in rows:
    delta = 100 * (r["modelwire_accuracy"] - r["sklearn_accuracy"])
    ours_time = f"{r['modelwire_cpu_s']:.3f} ({r['modelwire_fit_s']:.3f})"
    speed = f"{r['sklearn_cpu_s'] / max(r['modelwire_cpu_s'], 1e-6):.2f}×"
    if "modelwire_fit_s_threads" in r:
        ours_time += f"; {args.forest_threads} threads wall {r['modelwire_fit_s_threads']:.3f}"
        speed += f"; wall {r['sklearn_fit_s'] / r['modelwire_fit_s_threads']:.2f}× with {args.forest_threads} threads"
    print(f"| {r['dataset']} | {r['family']} | {r['modelwire_accuracy']:.4f} | {r['sklearn_accuracy']:.4f} | "
          f"{delta:+.1f} | {ours_time} | {r['sklearn_cpu_s']:.3f} ({r['sklearn_fit_s']:.3f}) | {speed} |")
if args.json:
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
