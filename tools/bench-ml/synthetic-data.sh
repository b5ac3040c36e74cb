#!/usr/bin/env bash
# Puts the synthetic 60k×100 set (48k training rows after the split) into DIR: DIR/synthetic.csv and
# DIR/synthetic_split.json, from ../shared/data's copy when it is there (SHARED_DATA), else generated
# by make_synthetic.py (needs scikit-learn: the peers' venv of tools/install-deps --python).
# Nothing is done when DIR already holds them. usage: synthetic-data.sh DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
DIR="$1"
SHARED_DATA="${SHARED_DATA:-$ROOT/../shared/data}"
mkdir -p "$DIR"
[ -f "$DIR/synthetic.csv" ] && exit 0
if [ -f "$SHARED_DATA/synthetic.csv.gz" ]; then
  gunzip -c "$SHARED_DATA/synthetic.csv.gz" > "$DIR/synthetic.csv"
  cp "$SHARED_DATA/synthetic_split.json" "$DIR/"
else
  "$ROOT/tools/install-deps" --python >&2
  "$ROOT/.venv-peers/bin/python" "$HERE/make_synthetic.py" "$DIR"
fi
