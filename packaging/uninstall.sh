#!/usr/bin/env bash
# Remove what packaging/install.sh installed, as listed in its manifest (BUNDLE/veil-install.manifest):
# the bundle, the `veil` command, the menu entry, the icon, the .veil type and Veil's line in
# mimeapps.list, the folders the install created (when empty); then the desktop caches are updated.
# Nothing else is touched: a file changed since the install is kept (and named).
#
#   packaging/uninstall.sh [--user | --system] [--prefix DIR] [--purge-data]
#
#   --user, --system, --prefix DIR   as given to install.sh (default: the installed bundle this
#                  script is in, BUNDLE/uninstall.sh; else --system as root, --user otherwise)
#   --purge-data   (--user only) also delete your Veil library: ${VEIL_HOME:-${XDG_DATA_HOME:-~/.local/share}/veil},
#                  with its studies, keys and audit log. Without it the library is kept. The entries
#                  Veil keeps in your desktop keyring (service "veil") stay: remove them there.
# shellcheck source-path=SCRIPTDIR/..
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for lib in "$HERE/desktop-integration.sh" "$HERE/../scripts/desktop-integration.sh"; do
    if [ -f "$lib" ]; then
        # shellcheck source=scripts/desktop-integration.sh
        source "$lib"
        break
    fi
done
if ! declare -F veil_unset_default_app >/dev/null; then
    echo "uninstall.sh: desktop-integration.sh not found beside this script or in ../scripts" >&2
    exit 1
fi

usage() { sed -n '7,13p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

mode="" prefix="" purge=0
while [ "$#" -gt 0 ]; do
    case "$1" in
        --user) mode=user ;;
        --system) mode=system ;;
        --prefix) [ "$#" -ge 2 ] || { usage >&2; exit 2; }; prefix="$2"; shift ;;
        --prefix=*) prefix="${1#--prefix=}" ;;
        --purge-data) purge=1 ;;
        -h|--help) usage; exit 0 ;;
        *) echo "uninstall.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
if [ -z "$mode$prefix" ] && [ -f "$HERE/veil-install.manifest" ]; then
    # Run from an installed bundle (BUNDLE/uninstall.sh): remove that one.
    app="$HERE"
    mode="$(awk -F'\t' '$1 == "mode" { print $2 }' "$HERE/veil-install.manifest")"
else
    if [ -z "$mode" ]; then
        if [ "$(id -u)" -eq 0 ]; then mode=system; else mode=user; fi
    fi
    if [ -n "$prefix" ]; then prefix="$(cd "$prefix" && pwd)"; fi
    if [ "$mode" = system ]; then app="${prefix%/}/opt/veil"; else app="${prefix:-$HOME}/.local/opt/veil"; fi
fi
if [ "$purge" = 1 ] && [ "$mode" != user ]; then
    echo "uninstall.sh: --purge-data is for --user (a system uninstall never deletes a user's library)" >&2
    exit 2
fi

manifest="$app/veil-install.manifest"
if [ ! -f "$manifest" ]; then
    echo "uninstall.sh: Veil is not installed in $app (no $manifest)" >&2
    exit 1
fi

if veil_running_from "$app"; then
    echo "uninstall.sh: Veil is running from $app; quit it (and any veil listen) first, then uninstall again" >&2
    exit 1
fi

kinds=() paths=() extras=()
while IFS=$'\t' read -r kind path extra || [ -n "$kind" ]; do
    [ -n "$kind" ] || continue
    kinds+=("$kind") paths+=("$path") extras+=("${extra:-}")
done < "$manifest"

recorded() {  # recorded KIND PATH: is that entry in the manifest?
    local i
    for i in "${!kinds[@]}"; do
        if [ "${kinds[$i]}" = "$1" ] && [ "${paths[$i]}" = "$2" ]; then return 0; fi
    done
    return 1
}

kept=()
for i in "${!kinds[@]}"; do
    path="${paths[$i]}" extra="${extras[$i]}"
    case "${kinds[$i]}" in
        file)
            if [ -f "$path" ] && [ ! -L "$path" ]; then
                if [ "$(sha256sum "$path" | cut -d' ' -f1)" = "$extra" ]; then rm -f "$path"; else kept+=("$path"); fi
            fi ;;
        link)
            if [ -L "$path" ] && [ "$(readlink "$path")" = "$extra" ]; then rm -f "$path"; fi ;;
        mimeapps)
            veil_unset_default_app "$path" "$extra" ;;
    esac
done

# The bundle (the manifest goes with it).
for i in "${!kinds[@]}"; do
    if [ "${kinds[$i]}" = tree ]; then
        case "${paths[$i]}" in
            */veil) if [ -f "${paths[$i]}/veil-install.manifest" ]; then rm -rf "${paths[$i]}"; fi ;;
        esac
    fi
done

# The desktop caches: rebuilt without Veil, or the MIME database removed with the folder the
# install created, when no other type is left in it.
for i in "${!kinds[@]}"; do
    [ "${kinds[$i]}" = data ] || continue
    data="${paths[$i]}"
    if recorded dir "$data/mime" && [ -d "$data/mime/packages" ] && [ -z "$(ls -A "$data/mime/packages")" ]; then
        rm -rf "$data/mime"
    fi
    veil_update_databases "$data"
    # update-mime-database leaves the folder of a media type it no longer has (mime/application).
    if [ -d "$data/mime" ]; then find "$data/mime" -mindepth 1 -maxdepth 1 -type d ! -name packages -empty -delete; fi
done

# The folders the install created, innermost first, where empty.
for ((i = ${#kinds[@]} - 1; i >= 0; i--)); do
    if [ "${kinds[$i]}" = dir ] && [ -d "${paths[$i]}" ]; then rmdir "${paths[$i]}" 2>/dev/null || true; fi
done

echo "Veil removed from $app."
for path in "${kept[@]}"; do echo "Kept $path: it changed since the install." >&2; done
if [ "$mode" = user ]; then
    library="${VEIL_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/veil}"
    if [ "$purge" = 1 ]; then
        if [ -e "$library" ]; then rm -rf "$library"; echo "Deleted your Veil library $library."; fi
        echo "Veil's entries in your desktop keyring (service \"veil\") were not removed."
    elif [ -e "$library" ]; then
        echo "Your Veil library $library was kept (uninstall.sh --user --purge-data deletes it)."
    fi
else
    echo "Users' Veil libraries (in their homes) were not touched."
fi
