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
# The stamp holds the hash of what was installed and the extras installed with it: the app's
# command and the tests' command may run in either order on one .venv, each adding its extras.
have_hash="" have_extras=""
if [ -f "$stamp" ]; then
    read -r have_hash have_extras < "$stamp" || true
fi
if [ "$have_hash" = "$want" ]; then
    missing=""
    for extra in ${EXTRAS//,/ }; do
        case ",$have_extras," in *",$extra,"*) ;; *) missing="$missing $extra" ;; esac
    done
    [ -z "$missing" ] && return 0 2>/dev/null || true
    [ -z "$missing" ] && exit 0
fi
needed="$(echo "$have_extras,$EXTRAS" | tr ',' '\n' | sed '/^$/d' | sort -u | paste -sd, -)"
echo "veil: installing pinned dependencies (extras: $needed)" >&2
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    -c "$ROOT/constraints.txt" -e "$ROOT[$needed]"
echo "$want $needed" > "$stamp"
