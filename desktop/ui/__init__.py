"""The PySide6 desktop app: wiring and painting only; every decision lives in ``desktop.app``."""
