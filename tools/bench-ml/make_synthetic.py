#!/usr/bin/env python3
"""Writes DIR/synthetic.csv and DIR/synthetic_split.json exactly as ../shared/baselines/ml/make_data.py:
make_classification(n_samples=60000, n_features=100, n_informative=30, n_classes=10, random_state=0), rounded to
4 decimals, floats as Python repr; stratified 80/20 split, random_state=0. Checks the CSV's sha256 against
MANIFEST (a make_data.py manifest.json) when given and present. usage: make_synthetic.py DIR [MANIFEST]"""
import hashlib
import json
import os
import sys

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

out = sys.argv[1]
manifest = sys.argv[2] if len(sys.argv) > 2 else ""
os.makedirs(out, exist_ok=True)
X, y = make_classification(n_samples=60000, n_features=100, n_informative=30, n_classes=10, random_state=0)
X = np.round(X, 4)
lines = [",".join([f"x{i}" for i in range(100)] + ["label"])]
for row, label in zip(X.tolist(), y.tolist()):
    lines.append(",".join(repr(v) for v in row) + "," + str(int(label)))
raw = ("\n".join(lines) + "\n").encode()
digest = hashlib.sha256(raw).hexdigest()
if manifest and os.path.exists(manifest):
    with open(manifest) as f:
        expected = json.load(f)["synthetic"]["csv_sha256"]
    if digest != expected:
        sys.exit(f"make_synthetic: sha256 {digest} differs from the manifest's {expected}")
    print(f"make_synthetic: sha256 matches {manifest}", file=sys.stderr)
else:
    print(f"make_synthetic: sha256 {digest} (no manifest to check against)", file=sys.stderr)
with open(os.path.join(out, "synthetic.csv"), "wb") as f:
    f.write(raw)
tr, te = train_test_split(np.arange(len(y)), test_size=0.2, stratify=y, random_state=0)
with open(os.path.join(out, "synthetic_split.json"), "w") as f:
    json.dump({"train": tr.tolist(), "test": te.tolist()}, f)
