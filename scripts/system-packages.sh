#!/usr/bin/env bash
# ensure_system_packages PKG...: install missing Debian packages where we can (root with
# apt-get, as in CI); otherwise say which are missing and how to get them. Never fails.
ensure_system_packages() {
    local need=() pkg
    command -v dpkg >/dev/null 2>&1 || return 0
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
    done
    [ ${#need[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "veil: installing system packages: ${need[*]}" >&2
        { apt-get install -y -qq "${need[@]}" || { apt-get update -qq && apt-get install -y -qq "${need[@]}"; }; } \
            >/dev/null 2>&1 || echo "veil: could not install ${need[*]}" >&2
    else
        echo "veil: missing system packages: ${need[*]} (sudo apt-get install ${need[*]})" >&2
    fi
    return 0
}

# What Qt needs to open a window on a bare Debian/Ubuntu (xcb platform plugin).
QT_RUNTIME_PACKAGES=(libgl1 libegl1 libxkbcommon0 libxkbcommon-x11-0 libfontconfig1 libdbus-1-3
    libglib2.0-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-randr0
    libxcb-render-util0 libxcb-image0 libxcb-xinerama0 fonts-dejavu-core)
