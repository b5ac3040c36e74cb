#!/usr/bin/env bash
# An ONNX-imported scikit-learn MLP predicted by Modelwire's ML core beside onnxruntime (onnx_bench.py).
#   tools/bench-ml/onnx.sh          (~2 min: a release build of OnnxBench, then 3 alternated rounds)
# Environment: WORK=/tmp/modelwire-bench-onnx (build and files), ROUNDS=3,
#   PYTHON=.venv-peers/bin/python (skl2onnx, onnxruntime: tools/install-deps --python).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-onnx}"
PYTHON="${PYTHON:-$ROOT/.venv-peers/bin/python}"
"$PYTHON" -c 'import onnxruntime, skl2onnx' 2>/dev/null || "$ROOT/tools/install-deps" --python
swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --product OnnxBench >&2
BIN="$(swift build -c release --package-path "$HERE" --scratch-path "$WORK/build" --show-bin-path)/OnnxBench"
"$PYTHON" "$HERE/onnx_bench.py" "$BIN" "$WORK" "${ROUNDS:-3}"
