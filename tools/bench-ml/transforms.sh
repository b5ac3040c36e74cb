#!/usr/bin/env bash
# The deployment transforms' goals (issue 14: pruning, distillation) on the synthetic 48k×100 set:
# builds TransformBench (release) and runs it, one thread, in process (no server).
#   tools/bench-ml/transforms.sh                 3 seeds, 10 epochs, 5 fine-tuning epochs (~1 min on 2 cores)
#   SEEDS=1 tools/bench-ml/transforms.sh --temperature 2 --alpha 0.7   a quick variant
#   tools/bench-ml/transforms.sh --sparse        sparse storage and kernel rows (pruned 0.5-0.95, dense vs sparse)
# Environment: WORK (default /tmp/modelwire-bench-transforms: build and data), SHARED_DATA (default ../shared/data).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-transforms}"
SHARED_DATA="${SHARED_DATA:-$ROOT/../shared/data}"
SHARED_DATA="$SHARED_DATA" "$HERE/synthetic-data.sh" "$WORK/data"
swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product TransformBench >&2
BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/TransformBench"
"$BIN" "$WORK/data" --seeds "${SEEDS:-3}" "$@"
