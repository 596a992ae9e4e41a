"""Cost of the passphrase key file (issue 15): one scrypt (RFC 7914) at format 1's N = 2**15
and format 2's N = 2**17 (r = 8, p = 1), and the unlocks built on them, in this process:

  scrypt N=2^15 / N=2^17   one derivation, as ``key_file._scrypt`` runs it
  create                   a new home's keystore.json (one N=2^17 derivation, atomic write)
  unlock                   a format-2 home (one N=2^17 derivation)
  unlock + migrate         a format-1 home: N=2^15 to unwrap, N=2^17 to rewrite

Median of --repeat rounds, with the machine and the load average. The test suite's cost
follows: every home a test creates or unlocks with a passphrase pays the "unlock" figure.

    .venv/bin/python benchmarks/keystore_bench.py --repeat 5
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import platform
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import keyring
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from keyring.backends import fail

from desktop.core.keys import key_file, open_library_keys

PASSPHRASE = "correct horse battery"


def _format_1(home: Path) -> None:
    """keystore.json as Veil wrote it before issue 15."""
    master, home_id, salt, nonce = os.urandom(32), str(uuid.uuid4()), os.urandom(16), os.urandom(12)
    kek = Scrypt(salt=salt, length=32, n=2**15, r=8, p=1).derive(PASSPHRASE.encode())
    meta = {"version": 1, "home_id": home_id, "method": "passphrase",
            "check": hmac.new(master, b"veil-key-check", hashlib.sha256).hexdigest()[:32],
            "kdf": {"name": "scrypt", "n": 2**15, "r": 8, "p": 1, "salt": base64.b64encode(salt).decode()},
            "wrap": {"cipher": "AES-256-GCM", "nonce": base64.b64encode(nonce).decode(),
                     "key": base64.b64encode(AESGCM(kek).encrypt(nonce, master, home_id.encode())).decode()}}
    (home / "keystore.json").write_text(json.dumps(meta))


def _timed(setup: Callable[[Path], None], work: Callable[[Path], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as folder:
            setup(Path(folder))
            start = time.perf_counter()
            work(Path(folder))
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    keyring.set_keyring(fail.Keyring())
    ask = lambda creating: PASSPHRASE  # noqa: E731
    nothing = lambda home: None  # noqa: E731
    rows = [
        (f"scrypt N=2^{n.bit_length() - 1}", _timed(nothing, lambda home, n=n: key_file._scrypt(
            PASSPHRASE, os.urandom(16), n, 8, 1), args.repeat)) for n in (2**15, key_file.SCRYPT_N)
    ]
    rows.append(("create", _timed(nothing, lambda home: open_library_keys(home, ask), args.repeat)))
    rows.append(("unlock", _timed(lambda home: open_library_keys(home, ask),
                                  lambda home: open_library_keys(home, ask), args.repeat)))
    rows.append(("unlock + migrate", _timed(_format_1, lambda home: open_library_keys(home, ask),
                                            args.repeat)))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}, median of {args.repeat}")
    for name, seconds in rows:
        print(f"  {name:<18} {seconds:6.3f} s")


if __name__ == "__main__":
    main()
