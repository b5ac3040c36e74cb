#!/usr/bin/env bash
# ML benchmarks: Modelwire (release build of MLBench) against numpy, scikit-learn, Keras/TensorFlow and
# (optional) PyTorch, one thread each, in the same run; prints a markdown table with ratios.
#   tools/bench-ml/run.sh            full run (10 epochs; ~5 min on 2 cores with Keras)
#   QUICK=1 tools/bench-ml/run.sh    2 epochs, for a smoke test
# Environment:
#   VENV=/tmp/mlvenv          virtualenv for the peers (created with requirements.txt if missing)
#   WITH_TORCH=1              also install and run PyTorch (PyPI's wheel pulls ~3 GB of CUDA libraries)
#   FRAMEWORKS="numpy sklearn keras torch"   peers to run (torch is skipped when not installed)
#   WORK=/tmp/modelwire-bench-ml             build directory, data and results (never inside the repo)
#   SHARED_DATA=../shared/data               where a prepared synthetic.csv.gz + manifest.json may be
#   MLBENCH=path                             use this MLBench binary instead of building one
#   ROUNDS=3                                 Modelwire/numpy rounds, alternated; each keeps its best
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-/tmp/mlvenv}"
WORK="${WORK:-/tmp/modelwire-bench-ml}"
SHARED_DATA="${SHARED_DATA:-$ROOT/../shared/data}"
FRAMEWORKS="${FRAMEWORKS:-numpy sklearn keras torch}"
EPOCHS=10; [ "${QUICK:-0}" = 1 ] && EPOCHS=2
mkdir -p "$WORK/data"

if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c 'import numpy, sklearn, tensorflow, keras, threadpoolctl' 2>/dev/null \
  || "$VENV/bin/pip" install -q -r "$HERE/requirements.txt"
if [ "${WITH_TORCH:-0}" = 1 ]; then "$VENV/bin/python" -c 'import torch' 2>/dev/null || "$VENV/bin/pip" install -q torch; fi
if ! "$VENV/bin/python" -c 'import torch' 2>/dev/null; then FRAMEWORKS="${FRAMEWORKS//torch/}"; fi

# Data: the bundled digits; synthetic from the shared copy when its sha256 matches, else generated.
cp "$ROOT/data/digits.csv" "$ROOT/data/digits_split.json" "$WORK/data/"
if [ ! -f "$WORK/data/synthetic.csv" ]; then
  if [ -f "$SHARED_DATA/synthetic.csv.gz" ] && [ -f "$SHARED_DATA/manifest.json" ]; then
    gunzip -c "$SHARED_DATA/synthetic.csv.gz" > "$WORK/data/synthetic.csv"
    cp "$SHARED_DATA/synthetic_split.json" "$WORK/data/"
    want=$("$VENV/bin/python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["synthetic"]["csv_sha256"])' "$SHARED_DATA/manifest.json")
    have=$(sha256sum "$WORK/data/synthetic.csv" | cut -d' ' -f1)
    [ "$want" = "$have" ] || { echo "bench-ml: shared synthetic.csv sha256 mismatch" >&2; rm "$WORK/data/synthetic.csv"; exit 1; }
  else
    "$VENV/bin/python" "$HERE/make_synthetic.py" "$WORK/data" "$SHARED_DATA/manifest.json"
  fi
fi

if [ -n "${MLBENCH:-}" ]; then
  BIN="$MLBENCH"
else
  swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product MLBench >&2
  BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/MLBench"
fi
"$VENV/bin/python" "$HERE/bench.py" --mlbench "$BIN" --data "$WORK/data" --frameworks "$FRAMEWORKS" \
  --epochs "$EPOCHS" --rounds "${ROUNDS:-3}" --json "$WORK/results.json"
