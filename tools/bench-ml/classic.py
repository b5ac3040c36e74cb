#!/usr/bin/env python3
"""The classic families, Modelwire against scikit-learn, side by side on the same splits (issue 16).

Modelwire: the release-built ClassicBench (each family with its defaults: Trainer.train, standardisation for
the linear families included). scikit-learn, one thread (threadpoolctl, OMP_NUM_THREADS=1, n_jobs=1), each
estimator with its defaults; the linear ones behind a StandardScaler fitted in the timed fit, as Modelwire does.
Fit time only (no CSV loading), wall clock and process CPU time (the fairer measure when other processes share
the machine); accuracy on the fixed test split. Prints a markdown table, ratio = sklearn time / Modelwire time
(> 1: Modelwire is faster), on CPU time.
With --seeds N the seeded families (--seeded-families, default tree,forest,gbdt) are trained with seeds
0..N-1 on both sides (Modelwire --seed s, scikit-learn random_state=s) and the table gives the mean accuracy
and mean times: one seed's accuracy is a draw (gbdt's early-stopping hold-out, the forest's bootstrap and
features, the trees' tie-breaking), worth ±0.3-0.5 pt on synthetic.
usage: classic.py --bench PATH/ClassicBench --data DIR [--datasets iris,breast_cancer,digits,synthetic]
                  [--families logistic,svm,tree,forest,gbdt] [--forest-threads 2] [--seeds 1]
                  [--seeded-families tree,forest,gbdt] [--json out.json]"""
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
ap.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1 for the seeded families, mean reported")
ap.add_argument("--seeded-families", default="tree,forest,gbdt")
ap.add_argument("--json", default="")
args = ap.parse_args()
_limits = threadpool_limits(limits=1)

PEERS = {
    "logistic": lambda seed: make_pipeline(StandardScaler(), LogisticRegression()),
    "svm": lambda seed: make_pipeline(StandardScaler(), LinearSVC()),
    "tree": lambda seed: DecisionTreeClassifier(random_state=seed),
    "forest": lambda seed: RandomForestClassifier(n_jobs=1, random_state=seed),
    "gbdt": lambda seed: HistGradientBoostingClassifier(random_state=seed),
}


def load(name):
    arr = np.loadtxt(os.path.join(args.data, f"{name}.csv"), delimiter=",", skiprows=1, dtype=np.float32)
    X, y = arr[:, :-1], arr[:, -1].astype(np.int64)
    with open(os.path.join(args.data, f"{name}_split.json")) as f:
        split = json.load(f)
    tr, te = np.array(split["train"]), np.array(split["test"])
    return X[tr], y[tr], X[te], y[te]


def modelwire(name, families, threads=1, seed=0):
    if not families:
        return {}
    out = subprocess.run([args.bench, args.data, name, ",".join(families), "--threads", str(threads),
                          "--seed", str(seed)], check=True, capture_output=True, text=True).stdout
    return {r["family"]: r for r in map(json.loads, out.splitlines())}


def mean(values):
    return sum(values) / len(values)


rows = []
families = args.families.split(",")
seeded = set(args.seeded_families.split(",")) if args.seeds > 1 else set()
for name in args.datasets.split(","):
    Xtr, ytr, Xte, yte = load(name)
    seeds = {f: list(range(args.seeds)) if f in seeded else [0] for f in families}
    # Per seed: Modelwire's run (all families of the seed in one process), then scikit-learn's fits of the
    # same families, so both sides of a seed see about the same machine load (A B A B).
    ours = {f: [] for f in families}
    ours2 = []
    fits = {f: [] for f in families}
    for seed in range(max(len(v) for v in seeds.values())):
        todo = [f for f in families if seed < len(seeds[f])]
        got = modelwire(name, todo, seed=seed)
        for f, r in got.items():
            ours[f].append(r)
        if "forest" in todo and args.forest_threads > 1:
            ours2.append(modelwire(name, ["forest"], args.forest_threads, seed=seed)["forest"])
        for family in todo:
            model = PEERS[family](seed)
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(Xtr, ytr)
            fit, cpu = time.perf_counter() - t0, time.process_time() - c0
            fits[family].append((float((model.predict(Xte) == yte).mean()), fit, cpu))
    for family in families:
        theirs = fits[family]
        mine = ours[family]
        row = {"dataset": name, "family": family, "seeds": len(seeds[family]),
               "modelwire_accuracy": mean([r["accuracy"] for r in mine]),
               "modelwire_fit_s": mean([r["fit_s"] for r in mine]),
               "modelwire_iterations": mean([r["iterations"] for r in mine]),
               "modelwire_cpu_s": mean([r["cpu_s"] for r in mine]),
               "modelwire_accuracy_per_seed": [r["accuracy"] for r in mine],
               "sklearn_accuracy": mean([t[0] for t in theirs]), "sklearn_fit_s": mean([t[1] for t in theirs]),
               "sklearn_cpu_s": mean([t[2] for t in theirs]), "sklearn_accuracy_per_seed": [t[0] for t in theirs],
               "modelwire_cpu_per_seed": [r["cpu_s"] for r in mine], "sklearn_cpu_per_seed": [t[2] for t in theirs]}
        if family == "forest" and ours2:
            row["modelwire_fit_s_threads"] = mean([r["fit_s"] for r in ours2])
        rows.append(row)
        print(f"[classic] {name} {family} ({len(seeds[family])} seeds): modelwire {row['modelwire_accuracy']:.4f} "
              f"{row['modelwire_accuracy_per_seed']} in {row['modelwire_fit_s']:.3f} s (cpu {row['modelwire_cpu_s']:.3f} s), "
              f"sklearn {row['sklearn_accuracy']:.4f} {row['sklearn_accuracy_per_seed']} in {row['sklearn_fit_s']:.3f} s "
              f"(cpu {row['sklearn_cpu_s']:.3f} s); cpu per seed {row['modelwire_cpu_per_seed']} / "
              f"{row['sklearn_cpu_per_seed']}", file=sys.stderr, flush=True)

print(f"scikit-learn {sklearn.__version__}, numpy {np.__version__}, 1 thread each"
      f" (Modelwire forest also with {args.forest_threads} threads)\n")
print("| data | family | seeds | Modelwire acc | sklearn acc | Δ pt | Modelwire CPU s (wall) | sklearn CPU s (wall) | speed (CPU) |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    delta = 100 * (r["modelwire_accuracy"] - r["sklearn_accuracy"])
    ours_time = f"{r['modelwire_cpu_s']:.3f} ({r['modelwire_fit_s']:.3f})"
    speed = f"{r['sklearn_cpu_s'] / max(r['modelwire_cpu_s'], 1e-6):.2f}×"
    if "modelwire_fit_s_threads" in r:
        ours_time += f"; {args.forest_threads} threads wall {r['modelwire_fit_s_threads']:.3f}"
        speed += f"; wall {r['sklearn_fit_s'] / r['modelwire_fit_s_threads']:.2f}× with {args.forest_threads} threads"
    print(f"| {r['dataset']} | {r['family']} | {r['seeds']} | {r['modelwire_accuracy']:.4f} | {r['sklearn_accuracy']:.4f} | "
          f"{delta:+.1f} | {ours_time} | {r['sklearn_cpu_s']:.3f} ({r['sklearn_fit_s']:.3f}) | {speed} |")
if args.json:
    with open(args.json, "w") as f:
        json.dump(rows, f, indent=1)
