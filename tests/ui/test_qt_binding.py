"""Guard the Qt binding pin: PySide6 6.12.0 drops a reference to True on every signal emit,
and on Python 3.11 the interpreter aborts after a few thousand (a long import, then quit)."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
from PySide6.QtCore import QCoreApplication, QObject, Signal
app = QCoreApplication([])
class Sender(QObject):
    ping = Signal(int, int)
s = Sender()
before = sys.getrefcount(True)
for i in range(20000):
    s.ping.emit(i, 20000)
print(sys.getrefcount(True) - before)
"""


def test_twenty_thousand_signal_emits_leave_the_interpreter_whole():
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                          env={"QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, f"the Qt binding crashed the interpreter: {done.stderr[-300:]}"
    assert done.stdout.strip() == "0"
