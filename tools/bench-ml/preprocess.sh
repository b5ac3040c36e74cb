#!/usr/bin/env bash
# Stored preprocessing (issue 15 item 1): fit + encode of a raw table (text categories with gaps,
# numbers with gaps) by Modelwire's Preprocessor (release, in process, one thread) beside
# scikit-learn's ColumnTransformer on the same CSV, same sitting (preprocess_bench.py).
#   tools/bench-ml/preprocess.sh            100000 rows
#   tools/bench-ml/preprocess.sh 10000
# Environment: WORK (default /tmp/modelwire-bench-preprocess: the build and the CSV).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-preprocess}"
swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product PreprocessBench >&2
BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/PreprocessBench"
[ -x "$ROOT/.venv-peers/bin/python" ] || "$ROOT/tools/install-deps" --python >&2
"$ROOT/.venv-peers/bin/python" "$HERE/preprocess_bench.py" "$BIN" "$WORK" "${1:-100000}"
