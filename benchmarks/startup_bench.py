"""Start-up to the first window, and size on disk (issue 19, point 2): the self-contained bundle
(``dist/veil/veil``, built by ``packaging/build-linux.sh``) beside the checkout's virtual
environment (``scripts/run-app`` runs ``.venv/bin/veil-gui``), in the same run.

Each start opens a fresh library (the passphrase from a file, so no dialog) under one Xvfb
display; the clock stops when X maps a window titled "Veil" (``xwininfo`` polled every 10 ms).
Cold: the page cache dropped before each start (``/proc/sys/vm/drop_caches``, root only;
otherwise said and skipped). Warm: the same start again at once. Targets: first window under
2 s warm and 5 s cold; the bundle under 400 MB.

    .venv/bin/python benchmarks/startup_bench.py [--repeat 3] [--bundle dist/veil]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 60.0


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def _drop_caches() -> bool:
    try:
        subprocess.run(["sync"], check=True)
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def _window_shown(display: str) -> bool:
    listing = subprocess.run(["xwininfo", "-root", "-tree"], env={**os.environ, "DISPLAY": display},
                             capture_output=True, text=True, check=False).stdout
    return '"Veil"' in listing


def first_window(command: list[str], display: str, work: Path) -> float:
    """Seconds from starting ``command`` to X mapping its window titled Veil."""
    home = Path(tempfile.mkdtemp(dir=work))
    (home / "pass").write_text("startup bench passphrase\n")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "DISPLAY": display, "QT_QPA_PLATFORM": "xcb",
           "VEIL_HOME": str(home / "library"), "VEIL_PASSPHRASE_FILE": str(home / "pass"),
           "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    try:
        while not _window_shown(display):
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} ended before its window showed (exit {process.returncode})")
            if time.perf_counter() - started > TIMEOUT_S:
                raise RuntimeError(f"{command[0]} showed no window in {TIMEOUT_S:.0f} s")
            time.sleep(0.01)
        return time.perf_counter() - started
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bundle", type=Path, default=ROOT / "dist" / "veil")
    args = parser.parse_args()
    if not shutil.which("Xvfb") or not shutil.which("xwininfo"):
        print("needs Xvfb and xwininfo (Debian xvfb, x11-utils)")
        return 1
    targets = {"venv (scripts/run-app)": ([str(ROOT / ".venv" / "bin" / "veil-gui")], ROOT / ".venv")}
    if (args.bundle / "veil").exists():
        targets["bundle (dist/veil/veil)"] = ([str(args.bundle / "veil")], args.bundle)
    else:
        print(f"no bundle at {args.bundle}: build it with packaging/build-linux.sh (measuring the venv only)")
    display = ":97"
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1600x1000x24"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    work = Path(tempfile.mkdtemp(prefix="veil-startup-"))
    try:
        time.sleep(1.0)
        can_drop = _drop_caches()
        if not can_drop:
            print("cannot drop the page cache (not root): cold figures are skipped")
        results: dict[str, dict[str, list[float]]] = {}
        for name, (command, _folder) in targets.items():
            first_window(command, display, work)  # load once, untimed
            results[name] = {"cold": [], "warm": []}
            for _ in range(args.repeat):
                if can_drop:
                    _drop_caches()
                    results[name]["cold"].append(first_window(command, display, work))
                results[name]["warm"].append(first_window(command, display, work))
        print(f"first window (best of {args.repeat}; median in brackets), and size on disk:")
        for name, (_command, folder) in targets.items():
            cold = results[name]["cold"]
            cold_text = f"{min(cold):5.2f} s ({statistics.median(cold):.2f})" if cold else "   n/a"
            warm = results[name]["warm"]
            print(f"  {name:26s} cold {cold_text}   warm {min(warm):5.2f} s ({statistics.median(warm):.2f})   "
                  f"{_size_mb(folder):7.1f} MB")
    finally:
        xvfb.terminate()
        xvfb.wait()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
