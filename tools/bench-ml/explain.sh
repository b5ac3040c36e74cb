#!/usr/bin/env bash
# Explain's goal (issue 15): integrated-gradient attributions per second of the 64-64 dense net at
# 1 row and 1024 rows, in process, one thread (no server): builds ExplainBench (release) and runs it.
#   tools/bench-ml/explain.sh              64 steps
#   tools/bench-ml/explain.sh --steps 128
# Environment: WORK (default /tmp/modelwire-bench-explain: the build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-explain}"
swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product ExplainBench >&2
BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/ExplainBench"
"$BIN" "$ROOT/data/digits.csv" "$@"
