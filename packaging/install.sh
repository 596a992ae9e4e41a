#!/usr/bin/env bash
# Install a built Veil bundle (dist/veil/, packaging/build-linux.sh) for one user or for everyone:
# the bundle, a `veil` command on the PATH, the menu entry, the icon and the .veil package type
# (double-clicking NAME.veil opens it in Veil). packaging/uninstall.sh removes all of it again.
#
#   packaging/install.sh [--user | --system] [--prefix DIR] [BUNDLE_DIR]
#
#   --user     (the default when not root) the bundle in ~/.local/opt/veil, the command
#              ~/.local/bin/veil, the desktop files under ${XDG_DATA_HOME:-~/.local/share}, and
#              Veil the default application for .veil files in ${XDG_CONFIG_HOME:-~/.config}/mimeapps.list
#   --system   (the default as root) /opt/veil, /usr/local/bin/veil, /usr/share/{applications,
#              icons/hicolor,mime}
#   --prefix DIR
#              install into the tree DIR instead of / (--system: DIR/opt/veil, DIR/usr/local/bin,
#              DIR/usr/share) or instead of your home (--user: DIR/.local/...), every path
#              written pointing inside DIR
#   DESTDIR=DIR (environment) stage for a package: files go under DIR but name the final
#              paths, and no desktop database is updated (the package's scripts do that)
#   BUNDLE_DIR the bundle folder holding the `veil` executable (default: the folder of this
#              script if it holds one, else dist/veil of this checkout)
#
# Installing again (an upgrade) puts the new bundle in place of the old by renames: the new
# copy is made beside the old one first. The list of what was installed is kept in
# BUNDLE/veil-install.manifest for uninstall.sh, which is installed beside it (BUNDLE/uninstall.sh).
# Your Veil library (your data) is not touched.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for lib in "$HERE/desktop-integration.sh" "$HERE/../scripts/desktop-integration.sh"; do
    if [ -f "$lib" ]; then
        # shellcheck source=scripts/desktop-integration.sh
        source "$lib"
        integration="$lib"
        break
    fi
done
if ! declare -F veil_register_desktop >/dev/null; then
    echo "install.sh: desktop-integration.sh not found beside this script or in ../scripts" >&2
    exit 1
fi

usage() { sed -n '5,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

mode="" prefix="" bundle=""
while [ "$#" -gt 0 ]; do
    case "$1" in
        --user) mode=user ;;
        --system) mode=system ;;
        --prefix) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; prefix="$2"; shift ;;
        --prefix=*) prefix="${1#--prefix=}" ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$bundle" ] || { usage >&2; exit 2; }; bundle="$1" ;;
    esac
    shift
done
if [ -z "$mode" ]; then
    if [ "$(id -u)" -eq 0 ]; then mode=system; else mode=user; fi
fi
if [ -z "$bundle" ]; then
    if [ -x "$HERE/veil" ] && [ ! -d "$HERE/veil" ]; then bundle="$HERE"; else bundle="$HERE/../dist/veil"; fi
fi
if [ ! -x "$bundle/veil" ] || [ -d "$bundle/veil" ]; then
    echo "install.sh: no bundle at $bundle (a folder holding the veil executable; build one with" \
         "packaging/build-linux.sh)" >&2
    exit 1
fi
bundle="$(cd "$bundle" && pwd)"

# The layout (paths as the installed system sees them; DESTDIR only prefixes where files go).
if [ -n "$prefix" ]; then
    mkdir -p "$prefix"
    prefix="$(cd "$prefix" && pwd)"
fi
if [ "$mode" = system ]; then
    root="${prefix%/}"
    app="$root/opt/veil" bindir="$root/usr/local/bin" data="$root/usr/share" mimeapps=""
    if [ -z "$prefix" ] && [ -z "${DESTDIR:-}" ] && [ "$(id -u)" -ne 0 ]; then
        echo "install.sh: --system needs root (sudo $0 --system), or --user to install for yourself" >&2
        exit 1
    fi
else
    home="${prefix:-$HOME}"
    app="$home/.local/opt/veil" bindir="$home/.local/bin"
    if [ -n "$prefix" ]; then
        data="$home/.local/share" mimeapps="$home/.config/mimeapps.list"
    else
        data="${XDG_DATA_HOME:-$home/.local/share}" mimeapps="${XDG_CONFIG_HOME:-$home/.config}/mimeapps.list"
    fi
fi
dest="${DESTDIR:-}"
dest="${dest%/}"

# Files the menu entry is made from: the bundle's share/ (build-linux.sh puts them there), else
# beside this script (packaging/ of a checkout).
asset() {
    local name="$1" candidate
    for candidate in "$bundle/share/$name" "$HERE/$name" "$HERE/../packaging/$name"; do
        if [ -f "$candidate" ]; then printf '%s\n' "$candidate"; return 0; fi
    done
    echo "install.sh: $name not found beside this script" >&2
    return 1
}
desktop_src="$(asset veil.desktop)"
mime_src="$(asset veil-package.xml)"
icon_src=""
for candidate in "$bundle/share/veil.svg" "$bundle/_internal/desktop/resources/icons/veil.svg" \
                 "$HERE/../desktop/resources/icons/veil.svg" "$HERE/veil.svg"; do
    if [ -f "$candidate" ]; then icon_src="$candidate"; break; fi
done
[ -n "$icon_src" ] || { echo "install.sh: the icon veil.svg was not found" >&2; exit 1; }

# The menu entry starts the window: veil-gui (the bundle's window entry point, which takes the
# .veil package a double-click hands it) when the bundle has one, else `veil gui`.
if [ -e "$bundle/veil-gui" ]; then exec_args=("$app/veil-gui"); else exec_args=("$app/veil" gui); fi

target="$dest$app"
old_manifest=""
if [ -f "$target/veil-install.manifest" ]; then old_manifest="$(cat "$target/veil-install.manifest")"; fi
if [ -e "$target" ] && [ ! -f "$target/veil-install.manifest" ]; then
    echo "install.sh: $target exists and was not installed by this script; not replacing it" >&2
    exit 1
fi

if [ -z "$dest" ] && [ -e "$target" ] && veil_running_from "$target"; then
    echo "install.sh: Veil is running from $target; quit it (and any veil listen) first, then install again" >&2
    exit 1
fi

# The command on the PATH may be another program's (or a copy a user made): never replaced.
command_link="$dest$bindir/veil"
if { [ -e "$command_link" ] || [ -L "$command_link" ]; } &&
   ! { [ -L "$command_link" ] && [ "$(readlink "$command_link")" = "$app/veil" ]; }; then
    echo "install.sh: $command_link exists and is not this installation's veil; not replacing it" \
         "(move it away, or install elsewhere with --prefix)" >&2
    exit 1
fi

# 1. The bundle, copied beside the old one, then renamed into place.
new_manifest="$(mktemp)"
trap 'rm -f "$new_manifest"' EXIT
VEIL_MANIFEST="$new_manifest"
export VEIL_MANIFEST
# Folders an earlier install created stay recorded as created by Veil.
if [ -n "$old_manifest" ]; then
    printf '%s\n' "$old_manifest" | awk -F'\t' '$1 == "dir" || ($1 == "mimeapps" && $3 == 1)' >> "$new_manifest"
fi
veil_mkdir "$(dirname "$target")"
staging="$(mktemp -d "$(dirname "$target")/.veil-new.XXXXXX")"
retired="$(dirname "$target")/.veil-old.$$"
cleanup_staging() { rm -rf "$staging" "$retired"; rm -f "$new_manifest"; }
trap cleanup_staging EXIT
cp -a "$bundle/." "$staging/"
rm -f "$staging/veil-install.manifest"
# The uninstaller goes with the installed bundle: BUNDLE/uninstall.sh.
cp "$HERE/uninstall.sh" "$staging/uninstall.sh"
cp "$integration" "$staging/desktop-integration.sh"
chmod 0755 "$staging/uninstall.sh"
chmod 0755 "$staging"
if [ -e "$target" ]; then mv "$target" "$retired"; fi
mv "$staging" "$target"
rm -rf "$retired"
_veil_record tree "$dest$app"
_veil_record mode "$mode"

# 2. The command on the PATH.
veil_mkdir "$dest$bindir"
ln -sfn "$app/veil" "$command_link"
_veil_record link "$command_link" "$app/veil"

# 3. The menu entry, the icon and the MIME type (and the caches, unless staging with DESTDIR).
if [ -n "$dest" ]; then export VEIL_NO_DATABASES=1; fi
veil_register_desktop "$dest$data" "$desktop_src" "$mime_src" "$icon_src" "${exec_args[@]}"
if [ -n "$mimeapps" ] && [ -z "$dest" ]; then veil_set_default_app "$mimeapps"; fi

# The manifest names the installed paths (without DESTDIR), each entry once, folders in order.
if [ -n "$dest" ]; then
    awk -F'\t' -v OFS='\t' -v d="$dest" '
        $1 == "mode" { print; next }
        $1 == "dir" || index($2, d "/") != 1 { next }  # folders are the package manager'"'"'s
        { for (i = 2; i <= NF; i++) if (index($i, d "/") == 1) $i = substr($i, length(d) + 1); print }' \
        "$new_manifest" > "$new_manifest.x" && mv "$new_manifest.x" "$new_manifest"
fi
awk '!seen[$0]++' "$new_manifest" > "$target/veil-install.manifest.tmp"
chmod 0644 "$target/veil-install.manifest.tmp"
mv "$target/veil-install.manifest.tmp" "$target/veil-install.manifest"

echo "Veil installed ($mode) in $app; the command: $bindir/veil; the menu entry: $data/applications/veil.desktop"
case "$mode:$prefix:$dest" in
    user::) case ":$PATH:" in *":$bindir:"*) ;; *) echo "Add $bindir to your PATH to run veil from a terminal." ;; esac ;;
esac
echo "Remove it with: $app/uninstall.sh"
