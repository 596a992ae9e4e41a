#!/usr/bin/env bash
# Build Veil's self-contained Linux bundle from a checkout: dist/veil/, with its `veil`
# executable (the command line; `veil` alone opens the window) and `veil-gui` (the window,
# for the menu entry) inside. Needs python3 >= 3.11 built with a shared libpython (python.org,
# distribution and pyenv builds with --enable-shared) and network access to the package index
# the first time (scripts/bootstrap.sh installs the pinned dependencies and PyInstaller into
# .venv). The bundle itself needs no network and no Python on the machine it runs on.
#
#   packaging/build-linux.sh            -> dist/veil/
#   VEIL_DIST=/some/dir packaging/build-linux.sh   -> /some/dir/veil/ (work files in its ../build)
#   VEIL_BUNDLE_SAMPLES=1 packaging/build-linux.sh  also bundle pydicom-data's sample corpus
#       (56 MB more, 415 MB in all; by default the samples are pydicom's own 3 MB of test files)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="${VEIL_DIST:-$ROOT/dist}"
WORK="${VEIL_BUILD_WORK:-$(dirname "$DIST")/build/pyinstaller}"
[ "$DIST" = "$ROOT/dist" ] && WORK="${VEIL_BUILD_WORK:-$ROOT/build/pyinstaller}"

# The build environment: Veil, its pinned dependencies and PyInstaller (and pydicom-data).
export VEIL_BUNDLE_SAMPLES="${VEIL_BUNDLE_SAMPLES:-0}"
default_extras=bundle
[ "$VEIL_BUNDLE_SAMPLES" = 1 ] && default_extras=samples,bundle
# shellcheck source=scripts/bootstrap.sh
VEIL_EXTRAS="${VEIL_EXTRAS:-$default_extras}" source "$ROOT/scripts/bootstrap.sh"
PY="$ROOT/.venv/bin/python"
"$PY" -c 'import sysconfig, sys; sys.exit(0 if sysconfig.get_config_var("Py_ENABLE_SHARED") else 1)' || {
    echo "veil: this Python has no shared libpython; PyInstaller needs one (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared)" >&2
    exit 1
}

start=$(date +%s)
echo "veil: building the bundle into $DIST/veil (PyInstaller; a few minutes)" >&2
# Builds from the same sources are reproducible byte for byte where PyInstaller can make them so.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}"
export PYTHONHASHSEED=0
cd "$ROOT"
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$WORK" "$ROOT/packaging/veil.spec"
ln -sf veil "$DIST/veil/veil-gui"
# The menu entry, icon and MIME type in share/, and the installer beside `veil`: a downloaded
# bundle installs with its own dist/veil/install.sh (packaging/README.md).
mkdir -p "$DIST/veil/share"
cp "$ROOT/packaging/veil.desktop" "$ROOT/desktop/resources/icons/veil.svg" "$ROOT/packaging/veil-package.xml" \
    "$DIST/veil/share/"
# For the site's IT: the site file (site.json, read-only defaults) and the user's guide.
mkdir -p "$DIST/veil/share/doc"
install -m 0644 "$ROOT/docs/SITE.md" "$ROOT/README.md" "$DIST/veil/share/doc/"
# (modes set here, not taken from the checkout: a user runs veil/install.sh as it is)
install -m 0755 "$ROOT/packaging/install.sh" "$ROOT/packaging/uninstall.sh" "$DIST/veil/"
install -m 0644 "$ROOT/scripts/desktop-integration.sh" "$DIST/veil/"

"$DIST/veil/veil" --version >/dev/null || { echo "veil: the bundle does not start" >&2; exit 1; }
echo "veil: built $DIST/veil in $(( $(date +%s) - start )) s, $(du -sh "$DIST/veil" | cut -f1)" >&2
