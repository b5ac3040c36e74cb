#!/usr/bin/env bash
# Quantize's goals (issue 14) on digits and synthetic through a release server (quantize_bench.py).
#   tools/bench-ml/quantize.sh            (a release build of modelwire-server, then ~2 min)
# Environment: WORK (default /tmp/modelwire-bench-quantize: data and repository), SHARED_DATA
#   (default ../shared/data, else the synthetic set is generated), EPOCHS (default 10).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-quantize}"
SHARED_DATA="${SHARED_DATA:-$ROOT/../shared/data}"
SHARED_DATA="$SHARED_DATA" "$HERE/synthetic-data.sh" "$WORK/data"
swift build -c release --package-path "$ROOT" --product modelwire-server >&2
BIN="$(swift build -c release --package-path "$ROOT" --show-bin-path)/modelwire-server"
python3 -c 'import google.protobuf' 2>/dev/null || python3 -m pip install -q 'protobuf>=4.21'
PYTHONPATH="$ROOT/tools/clients/python" python3 "$HERE/quantize_bench.py" "$BIN" "$WORK/data" "$WORK" "${EPOCHS:-10}"
