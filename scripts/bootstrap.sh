#!/usr/bin/env bash
# Create .venv and install Veil with pinned dependencies (constraints.txt). Idempotent:
# reinstalls only when pyproject.toml or constraints.txt changed. Sourced by run-app/run-tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${PYTHON:-python3}"
EXTRAS="${VEIL_EXTRAS:-samples}"

if [ ! -x "$VENV/bin/python" ]; then
    echo "veil: creating a virtual environment in .venv" >&2
    "$PYTHON" -m venv "$VENV"
fi
stamp="$VENV/.veil-installed"
want="$(cat "$ROOT/pyproject.toml" "$ROOT/constraints.txt" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    echo "veil: installing pinned dependencies (extras: $EXTRAS)" >&2
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
        -c "$ROOT/constraints.txt" -e "$ROOT[$EXTRAS]"
    echo "$want" > "$stamp"
fi
