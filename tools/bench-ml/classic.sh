#!/usr/bin/env bash
# The classic families (logistic, svm, tree, forest, gbdt) against scikit-learn, one thread each, same splits:
# builds ClassicBench (release), prepares iris/breast_cancer/digits and the synthetic 48k×100 set, runs classic.py.
#   tools/bench-ml/classic.sh                      all datasets (~8 min on 2 busy cores; sklearn's forest is most of it)
#   DATASETS=iris,digits tools/bench-ml/classic.sh a subset (FAMILIES=forest,gbdt likewise)
#   SEEDS=3 tools/bench-ml/classic.sh      tree, forest and gbdt: mean over seeds 0-2 on both sides
# Environment: VENV (default .venv-bench in the repository; created with scikit-learn, numpy, threadpoolctl),
#   WORK (default /tmp/modelwire-bench-classic: build and data), SHARED_DATA (default ../shared/data).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
VENV="${VENV:-$ROOT/.venv-bench}"
WORK="${WORK:-/tmp/modelwire-bench-classic}"
SHARED_DATA="${SHARED_DATA:-$ROOT/../shared/data}"
mkdir -p "$WORK/data"
if [ ! -x "$VENV/bin/python" ]; then python3 -m venv "$VENV"; fi
"$VENV/bin/python" -c 'import sklearn, numpy, threadpoolctl' 2>/dev/null || "$VENV/bin/pip" install -q scikit-learn numpy threadpoolctl
cp "$ROOT"/data/{iris,breast_cancer,digits}.csv "$ROOT"/data/{iris,breast_cancer,digits}_split.json "$WORK/data/"
SHARED_DATA="$SHARED_DATA" "$HERE/synthetic-data.sh" "$WORK/data"
swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product ClassicBench >&2
BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/ClassicBench"
"$VENV/bin/python" "$HERE/classic.py" --bench "$BIN" --data "$WORK/data" \
  --datasets "${DATASETS:-iris,breast_cancer,digits,synthetic}" --families "${FAMILIES:-logistic,svm,tree,forest,gbdt}" \
  --seeds "${SEEDS:-1}" --json "$WORK/results.json"
