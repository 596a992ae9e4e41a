#!/usr/bin/env bash
# Register Veil with the desktop: the menu entry, the icon, and the .veil package type, so that
# double-clicking NAME.veil opens it in Veil. One implementation for two callers:
#   - scripts/run-app (a checkout, for this user): install_desktop_integration ROOT, never fatal;
#   - packaging/install.sh (an installed bundle, for one user or system-wide):
#     veil_register_desktop, recording each file and folder it creates in $VEIL_MANIFEST, which
#     packaging/uninstall.sh reads to remove exactly those again.
# Sourced, not run: it sets no shell options of its own.

VEIL_MIME_TYPE=application/x-veil-package

# Append "KIND<TAB>PATH[<TAB>MORE]" to the manifest being written (when there is one).
_veil_record() {
    local IFS=$'\t'
    if [ -n "${VEIL_MANIFEST:-}" ]; then printf '%s\n' "$*" >> "$VEIL_MANIFEST"; fi
}

# Whether a process runs an executable inside the folder $1 (Linux: /proc/PID/exe; a user sees
# their own processes, root everyone's): an installed Veil still running from it, which loads
# modules from it as it goes and must not have it replaced or removed under it.
veil_running_from() {
    local exe
    for exe in /proc/[0-9]*/exe; do
        case "$(readlink "$exe" 2>/dev/null)" in "$1"/*) return 0 ;; esac
    done
    return 1
}

# mkdir -p that records each folder it creates, outermost first (uninstall removes them innermost
# first, and only while empty).
veil_mkdir() {
    local dir="$1" missing=() d
    d="$dir"
    while [ -n "$d" ] && [ "$d" != "/" ] && [ "$d" != "." ] && [ ! -e "$d" ]; do
        missing=("$d" "${missing[@]}")
        d="$(dirname "$d")"
    done
    for d in "${missing[@]}"; do
        mkdir "$d" || return 1
        _veil_record dir "$d"
    done
}

# Install one file (content from SRC) at DEST, recording it with its checksum.
veil_install_file() {
    local src="$1" dest="$2"
    veil_mkdir "$(dirname "$dest")" || return 1
    cp "$src" "$dest.tmp$$" && chmod 0644 "$dest.tmp$$" && mv -f "$dest.tmp$$" "$dest" || return 1
    _veil_record file "$dest" "$(sha256sum "$dest" | cut -d' ' -f1)"
}

# Quote one argument for a desktop entry's Exec key (Desktop Entry Specification, "The Exec key").
_veil_exec_quote() {
    local s="$1"
    s="${s//\\/\\\\\\\\}"; s="${s//\"/\\\\\"}"; s="${s//\`/\\\\\`}"; s="${s//\$/\\\\\$}"
    printf '"%s"' "$s"
}

# Write packaging/veil.desktop (SRC) to DEST with Exec="PROGRAM" ARGS... %f and TryExec=PROGRAM.
veil_desktop_entry() {
    local src="$1" dest="$2" program="$3" line exec
    shift 3
    exec="$(_veil_exec_quote "$program")"
    for line in "$@"; do exec="$exec $line"; done
    while IFS= read -r line || [ -n "$line" ]; do
        case "$line" in
            Exec=*) printf 'Exec=%s %%f\n' "$exec" ;;
            TryExec=*) printf 'TryExec=%s\n' "$program" ;;
            *) printf '%s\n' "$line" ;;
        esac
    done < "$src" > "$dest"
}

# Make Veil the default application for .veil packages in a mimeapps.list (what `xdg-mime
# default veil.desktop application/x-veil-package` does, without guessing the desktop's file).
veil_set_default_app() {
    local list="$1" created=0
    if [ ! -e "$list" ]; then
        veil_mkdir "$(dirname "$list")" || return 1
        created=1
        printf '[Default Applications]\n' > "$list" || return 1
    fi
    awk -v entry="$VEIL_MIME_TYPE=veil.desktop;" -v key="$VEIL_MIME_TYPE=" '
        /^\[/ { if (indefault && !done) { print entry; done = 1 }
                indefault = ($0 == "[Default Applications]") ; print; next }
        indefault && index($0, key) == 1 { next }
        { print }
        END { if (!done) { if (!indefault) print "[Default Applications]"; print entry } }
    ' "$list" > "$list.tmp$$" && mv -f "$list.tmp$$" "$list" || return 1
    _veil_record mimeapps "$list" "$created"
}

# Undo veil_set_default_app: drop Veil's line; remove the file if Veil created it and nothing
# else is left in it.
veil_unset_default_app() {
    local list="$1" created="$2"
    [ -f "$list" ] || return 0
    awk -v entry="$VEIL_MIME_TYPE=veil.desktop;" '$0 != entry' "$list" > "$list.tmp$$" \
        && mv -f "$list.tmp$$" "$list" || return 1
    if [ "$created" = 1 ] && ! grep -qv '^\(\[.*\]\)\?[[:space:]]*$' "$list"; then rm -f "$list"; fi
}

# Refresh the caches of one XDG data folder (DATA/mime, DATA/applications, DATA/icons/hicolor).
# The MIME database is compiled (applications look *.veil up there); the applications' and the
# icons' caches are only refreshed where one exists: desktops read the files without them, and
# a stale icon cache created here would hide icons added later.
veil_update_databases() {
    local data="$1"
    if [ -d "$data/mime/packages" ] && command -v update-mime-database >/dev/null 2>&1; then
        update-mime-database "$data/mime" >/dev/null 2>&1 || true
    fi
    if [ -f "$data/applications/mimeinfo.cache" ] && command -v update-desktop-database >/dev/null 2>&1; then
        update-desktop-database -q "$data/applications" >/dev/null 2>&1 || true
    fi
    if [ -f "$data/icons/hicolor/icon-theme.cache" ] && command -v gtk-update-icon-cache >/dev/null 2>&1; then
        gtk-update-icon-cache -q -t -f "$data/icons/hicolor" >/dev/null 2>&1 || true
    fi
}

# The Veil icon of a checkout or an unpacked source: the package's resource, else packaging/'s.
veil_icon_source() {
    local root="$1"
    if [ -f "$root/desktop/resources/icons/veil.svg" ]; then
        printf '%s\n' "$root/desktop/resources/icons/veil.svg"
    else
        printf '%s\n' "$root/packaging/veil.svg"
    fi
}

# Register Veil in the XDG data folder DATA (…/share): the menu entry starting PROGRAM [ARGS...]
# with the file (%f), the icon ICON, the MIME type described by MIME_XML; then the caches.
#   veil_register_desktop DATA DESKTOP_SRC MIME_XML ICON PROGRAM [ARGS...]
veil_register_desktop() {
    local data="$1" desktop_src="$2" mime_xml="$3" icon="$4" program="$5" tmp
    shift 5
    tmp="$(mktemp)" || return 1
    veil_desktop_entry "$desktop_src" "$tmp" "$program" "$@" || { rm -f "$tmp"; return 1; }
    veil_install_file "$tmp" "$data/applications/veil.desktop" || { rm -f "$tmp"; return 1; }
    rm -f "$tmp"
    veil_install_file "$icon" "$data/icons/hicolor/scalable/apps/veil.svg" || return 1
    veil_install_file "$mime_xml" "$data/mime/packages/veil-package.xml" || return 1
    _veil_record data "$data"
    if [ -z "${VEIL_NO_DATABASES:-}" ]; then veil_update_databases "$data"; fi
}

# scripts/run-app: register this checkout's .venv/bin/veil-gui for the user (~/.local/share, XDG);
# nothing system-wide is touched, and a failure is never fatal.
install_desktop_integration() {
    local root="$1" data="${XDG_DATA_HOME:-$HOME/.local/share}"
    (
        VEIL_MANIFEST=""
        veil_register_desktop "$data" "$root/packaging/veil.desktop" "$root/packaging/veil-package.xml" \
            "$(veil_icon_source "$root")" "$root/.venv/bin/veil-gui" \
            && veil_set_default_app "${XDG_CONFIG_HOME:-$HOME/.config}/mimeapps.list"
    ) >/dev/null 2>&1 || true
}
