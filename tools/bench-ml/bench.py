#!/usr/bin/env python3
"""Runs MLBench and the peers (one thread each) in one go and prints a markdown table with ratios.
usage: bench.py --mlbench PATH --data DIR [--frameworks "numpy sklearn keras torch"] [--epochs 10] [--json OUT]"""
import argparse
import json
import os
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--mlbench", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--frameworks", default="numpy sklearn keras torch")
ap.add_argument("--epochs", type=int, default=10)
ap.add_argument("--json")
ap.add_argument("--rounds", type=int, default=3,
                help="alternate Modelwire and numpy this many times and keep each one's best (contention comes in bursts)")
args = ap.parse_args()
HERE = os.path.dirname(os.path.abspath(__file__))


def stat():
    with open("/proc/stat") as f:
        v = list(map(int, f.readline().split()[1:9]))
    return sum(v), v[3] + v[4]


def run(cmd, env=None):
    """Runs cmd, returns (parsed stdout JSON, share of the CPUs other processes used meanwhile)."""
    t0, i0 = stat()
    c0 = os.times()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, env=env, check=True)
    t1, i1 = stat()
    c1 = os.times()
    own = (c1.children_user + c1.children_system - c0.children_user - c0.children_system) * os.sysconf("SC_CLK_TCK")
    busy = max(0.0, ((t1 - t0) - (i1 - i0) - own) / max(t1 - t0, 1))
    return json.loads(proc.stdout), busy


def best_of(a, b, key=""):
    """Merges two result dicts keeping the better value of each number (lower for times and latencies)."""
    if isinstance(a, dict):
        return {k: best_of(a[k], b[k], k) if k in b else a[k] for k in a}
    if isinstance(a, (int, float)) and not isinstance(a, bool) and key not in ("epochs", "train_rows", "accuracy", "f1_macro"):
        return min(a, b) if key.endswith("_us") or key.endswith("_s") else max(a, b)
    return a


env1 = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
results, busy = {}, {}
quick = ["--quick"] if args.epochs < 10 else []
numpy_cmd = [sys.executable, os.path.join(HERE, "peers.py"), "--framework", "numpy", "--data", args.data]
for round in range(max(args.rounds, 1)):
    mw, mw_busy = run([args.mlbench, args.data] + quick)
    results["modelwire"] = best_of(results["modelwire"], mw) if round else mw
    busy["modelwire"] = min(busy.get("modelwire", 1.0), mw_busy)
    if "numpy" in args.frameworks.split():
        npr, np_busy = run(numpy_cmd, env=env1)
        results["numpy"] = best_of(results["numpy"], npr) if round else npr
        busy["numpy"] = min(busy.get("numpy", 1.0), np_busy)
for fw in [f for f in args.frameworks.split() if f != "numpy"]:
    try:
        results[fw], busy[fw] = run([sys.executable, os.path.join(HERE, "peers.py"), "--framework", fw,
                                     "--data", args.data, "--epochs", str(args.epochs)], env=env1)
    except subprocess.CalledProcessError as error:
        print(f"bench: {fw} failed ({error}); left out", file=sys.stderr)
if args.json:
    with open(args.json, "w") as f:
        json.dump({"results": results, "busy": busy}, f, indent=1)

mw = results["modelwire"]
trainers = [fw for fw in ("sklearn", "keras", "torch") if fw in results]
cols = ["modelwire"] + [fw for fw in ("numpy", "sklearn", "keras", "torch") if fw in results]


def get(fw, *path):
    v = results.get(fw)
    for p in path:
        if not isinstance(v, dict) or p not in v:
            return None
        v = v[p]
    return v


def fmt(v, unit=""):
    if v is None:
        return "–"
    if unit == "acc":
        return f"{v * 100:.2f}%"
    if v >= 1e6:
        return f"{v / 1e6:.2f}M"
    if v >= 1e4:
        return f"{v / 1e3:.1f}k"
    return f"{v:.3g}" if v < 100 else f"{v:.0f}"


rows = []


def row(label, path, goal, compare, unit=""):
    values = {fw: get(fw, *path) for fw in cols}
    ratio, met = "", ""
    ours = values["modelwire"]
    if compare and ours is not None:
        kind, peers, target = compare
        peer_values = [values[p] for p in peers if values.get(p) is not None]
        if peer_values:
            if kind == "higher":
                best = max(peer_values)
                r = ours / best
                ratio = f"{r:.2f}× best peer"
            else:  # lower is better: how many times faster
                best = min(peer_values)
                r = best / ours
                ratio = f"{r:.2f}× faster"
            met = ("yes" if r >= target else "no") if target > 0 else ""
    elif compare is None and goal.startswith("≥") and ours is not None:
        met = "yes" if ours >= float(goal[1:].strip().rstrip("%")) / (100 if goal.endswith("%") else 1) else "no"
    rows.append([label] + [fmt(values[fw], unit) for fw in cols] + [ratio, goal, met])


row("train synthetic 100-64-64-10, samples/s", ("synthetic", "samples_per_s"), "≥ 3× fastest trainer",
    ("higher", trainers, 3.0))
row("train digits 64-64-64-10, samples/s", ("digits", "samples_per_s"), "(info)", ("higher", trainers, 0))
row("accuracy synthetic (test 12000)", ("synthetic", "accuracy"), "≥ 80.5%", None, "acc")
row("accuracy digits (test 360)", ("digits", "accuracy"), "≥ 96%", None, "acc")
row("predict 1 row synthetic net, µs", ("synthetic", "latency_1_row_us"), "≤ 1/5 numpy (5× faster)",
    ("lower", ["numpy"], 5.0))
row("predict 1 row digits net, µs", ("digits", "latency_1_row_us"), "≤ 1/5 numpy", ("lower", ["numpy"], 5.0))
row("predict 1024 rows synthetic net, rows/s", ("synthetic", "batch_1024_rows_per_s"), "≥ 1.2× numpy",
    ("higher", ["numpy"], 1.2))
row("predict 1024 rows digits net, rows/s", ("digits", "batch_1024_rows_per_s"), "≥ 1.2× numpy",
    ("higher", ["numpy"], 1.2))
row("matmul 256³ GFLOP/s (best)", ("matmul_256_t1", "best_gflops"), "(info)", ("higher", ["numpy"], 0))
row("matmul 1024³ GFLOP/s (best)", ("matmul_1024_t1", "best_gflops"), "≥ 60% numpy", ("higher", ["numpy"], 0.6))
row("matmul 1024³ GFLOP/s (median)", ("matmul_1024_t1", "median_gflops"), "≥ 60% numpy", ("higher", ["numpy"], 0.6))

print("| measure (1 thread each) | " + " | ".join(cols) + " | ratio | goal | met |")
print("|---" * (len(cols) + 4) + "|")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print(f"Modelwire and numpy: best of {max(args.rounds, 1)} alternated rounds; trainers: one run each. "
      "Other processes' share of the 2 CPUs during each run (0 = quiet; the least of the rounds): "
      + ", ".join(f"{k} {v:.2f}" for k, v in busy.items()))
print(f"Modelwire extras: 2-thread matmul 1024³ {fmt(get('modelwire', 'matmul_1024_t2', 'best_gflops'))} GFLOP/s, "
      f"2-thread predict 1024 rows {fmt(get('modelwire', 'synthetic', 'batch_1024_rows_per_s_t2'))} rows/s; "
      f"AVX2+FMA kernels: {mw.get('avx2_fma')}")
