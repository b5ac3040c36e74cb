#!/usr/bin/env bash
# Tune's benchmark (issue 15): the issue's mlp grid on digits, 5 folds, through a release server,
# beside GridSearchCV(MLPClassifier, n_jobs=1) on the same folds, same sitting (tune_bench.py).
#   tools/bench-ml/tune.sh                 20 epochs, --max-concurrent-jobs 2
#   EPOCHS=10 JOBS=1 tools/bench-ml/tune.sh
# Environment: WORK (default /tmp/modelwire-bench-tune), SCRATCH (SwiftPM scratch path, default .build).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="${WORK:-/tmp/modelwire-bench-tune}"
SCRATCH="${SCRATCH:-$ROOT/.build}"
swift build -c release --package-path "$ROOT" --scratch-path "$SCRATCH" --product modelwire-server >&2
BIN="$(swift build -c release --package-path "$ROOT" --scratch-path "$SCRATCH" --show-bin-path)/modelwire-server"
[ -x "$ROOT/.venv-peers/bin/python" ] || "$ROOT/tools/install-deps" --python >&2
PYTHONPATH="$ROOT/tools/clients/python" "$ROOT/.venv-peers/bin/python" "$HERE/tune_bench.py" "$BIN" "$WORK" \
  "${EPOCHS:-20}" "${JOBS:-2}"
