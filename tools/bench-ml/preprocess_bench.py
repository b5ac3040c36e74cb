"""Stored preprocessing (issue 15 item 1) beside scikit-learn, same sitting, same rows: a seeded table of
4 text columns (5-20 categories, within the one-hot cap; gaps) and 4 numeric columns (gaps) is written as CSV; Modelwire's
PreprocessBench (release, one thread) and scikit-learn's ColumnTransformer([SimpleImputer(mean)] on the
numbers, [SimpleImputer(most_frequent), OneHotEncoder(handle_unknown="ignore", dense)] on the text) both
fit on it and then encode every row, repeatedly for at least a second. Prints a JSON summary: rows/s of
each and their ratio, and the largest difference between the two encodings' per-feature column sums.

usage: preprocess_bench.py <PreprocessBench binary> <work dir> [rows]
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder


def table(rows, seed=0):
    rng = np.random.default_rng(seed)
    data = {}
    for name, k in (("city", 20), ("plan", 5), ("device", 12), ("channel", 8)):
        values = rng.choice([f"{name}{i:02d}" for i in range(k)], rows).astype(object)
        values[rng.random(rows) < 0.05] = None
        data[name] = values
    for name in ("age", "income", "visits", "tenure"):
        values = rng.normal(50, 15, rows).round(3)
        values[rng.random(rows) < 0.1] = np.nan
        data[name] = values
    data["label"] = np.where(rng.random(rows) < 0.5, "yes", "no")
    return pd.DataFrame(data)


def main():
    binary, work = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    os.makedirs(work, exist_ok=True)
    frame = table(rows)
    path = os.path.join(work, "table.csv")
    frame.to_csv(path, index=False)  # gaps as empty fields
    mw = json.loads(subprocess.run([binary, path, "label"], check=True, capture_output=True, text=True).stdout)

    text = ["city", "plan", "device", "channel"]
    numbers = ["age", "income", "visits", "tenure"]
    raw = pd.read_csv(path).drop(columns=["label"])
    transformer = ColumnTransformer([
        ("num", SimpleImputer(strategy="mean"), numbers),
        ("cat", Pipeline([("impute", SimpleImputer(strategy="most_frequent")),
                          ("onehot", OneHotEncoder(handle_unknown="ignore", sparse_output=False))]), text),
    ])
    start = time.perf_counter()
    transformer.fit(raw)
    fit_ms = (time.perf_counter() - start) * 1000
    encoded = transformer.transform(raw)
    calls, start = 0, time.perf_counter()
    while True:
        transformer.transform(raw)
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= 1 and calls >= 3:
            break
    sk_rate = calls * rows / elapsed
    # scikit-learn's names: num__age, cat__city_city07 -> Modelwire's age, city=city07.
    names = [n.split("__", 1)[1] for n in transformer.get_feature_names_out()]
    names = [n if n in numbers else "{}={}".format(*n.split("_", 1)) for n in names]
    sk_sums = dict(zip(names, encoded.sum(axis=0)))
    mw_sums = dict(zip(mw["feature_names"], mw["feature_sums"]))
    assert set(sk_sums) == set(mw_sums), (sorted(set(sk_sums) ^ set(mw_sums)))[:10]
    worst = max(abs(sk_sums[n] - mw_sums[n]) / max(1.0, abs(sk_sums[n])) for n in sk_sums)
    print(json.dumps({
        "rows": rows, "features": len(names),
        "modelwire_rows_per_s": mw["rows_per_s"], "sklearn_rows_per_s": int(sk_rate),
        "ratio": round(mw["rows_per_s"] / sk_rate, 2),
        "modelwire_fit_ms": mw["fit_ms"], "sklearn_fit_ms": round(fit_ms, 3),
        "modelwire_encode_ms": mw["encode_ms"], "sklearn_transform_ms": round(elapsed * 1000 / calls, 3),
        "max_relative_sum_difference": worst,
    }, indent=1))


if __name__ == "__main__":
    main()
