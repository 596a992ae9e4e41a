"""Which mouse scheme the viewer follows, kept in the library's settings: Veil's own (the right
button adjusts the window, as the left does) or Horos' and OHIF's (the right button zooms:
drag up to magnify, down to shrink)."""

from __future__ import annotations

from desktop.app.library.home import VeilHome
from desktop.core.library.settings import get_setting, set_settings

RIGHT_BUTTON_SETTING = "viewer.right_button"
ZOOMS = "zoom"


def right_button_zooms(home: VeilHome) -> bool:
    conn = home.connect()
    try:
        return get_setting(conn, RIGHT_BUTTON_SETTING) == ZOOMS
    finally:
        conn.close()


def set_right_button_zooms(home: VeilHome, on: bool) -> None:
    conn = home.connect()
    try:
        set_settings(conn, {RIGHT_BUTTON_SETTING: ZOOMS if on else "window"})
    finally:
        conn.close()
