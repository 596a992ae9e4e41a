#!/usr/bin/env bash
# Register Veil with the desktop for this user (sourced by scripts/run-app; never fatal): the
# menu entry, the icon, and the .veil package type, so that double-clicking NAME.veil opens it
# in Veil. Files go under ~/.local/share (XDG); nothing system-wide is touched.
install_desktop_integration() {
    local root="$1" data="${XDG_DATA_HOME:-$HOME/.local/share}"
    local apps="$data/applications" icons="$data/icons/hicolor/scalable/apps" mime="$data/mime"
    mkdir -p "$apps" "$icons" "$mime/packages" 2>/dev/null || return 0
    sed "s|^Exec=veil-gui|Exec=\"$root/.venv/bin/veil-gui\"|; s|^TryExec=veil-gui|TryExec=$root/.venv/bin/veil-gui|" \
        "$root/packaging/veil.desktop" > "$apps/veil.desktop" 2>/dev/null || return 0
    cp "$root/packaging/veil.svg" "$icons/veil.svg" 2>/dev/null || true
    cp "$root/packaging/veil-package.xml" "$mime/packages/veil-package.xml" 2>/dev/null || true
    if command -v update-mime-database >/dev/null 2>&1; then update-mime-database "$mime" >/dev/null 2>&1 || true; fi
    if command -v update-desktop-database >/dev/null 2>&1; then update-desktop-database "$apps" >/dev/null 2>&1 || true; fi
    if command -v xdg-mime >/dev/null 2>&1; then
        xdg-mime default veil.desktop application/x-veil-package >/dev/null 2>&1 || true
    fi
}
