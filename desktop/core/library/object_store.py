"""``objects/``: imported originals, stored once, encrypted, read-only.

Objects are content-addressed by the SHA-256 of the original bytes. The file name is a keyed
hash of that digest (HMAC-SHA256 with a library subkey), so that someone holding a copy of a
patient's file cannot confirm it is in a stolen library by hashing it. The plain SHA-256 is
kept in the (encrypted) index.

Writes go to ``VEIL_HOME/tmp`` first and are renamed into place, so a crash leaves either no
object or a whole one; temp names carry the writer's pid so stale ones can be swept safely.
"""

from __future__ import annotations

import hashlib
import hmac
import mmap
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path

from desktop.core.common.atomic_files import fsync_dir
from desktop.core.common.errors import ObjectStoreError
from desktop.core.common.liveness import life_token, sweep_dead_tokens, token_alive
from desktop.core.common.portable import BINARY, process_alive, remove_file
from desktop.core.common.sealed import SealedReader, iter_unsealed, peek_unsealed, seal_bytes

READ_ONLY = stat.S_IRUSR


class ObjectStore:
    """Sealed, content-addressed originals under ``root``."""

    def __init__(self, root: Path, tmp: Path, object_key: bytes, name_key: bytes, owner: str | None = None) -> None:
        """``owner``: the life token (:mod:`desktop.core.common.liveness`) of the process that commits
        what this store stages (a worker's store stages for its parent); this process's own by
        default, taken on first use."""
        self.root = Path(root)
        self.tmp = Path(tmp)
        self._owner = owner
        self._key = object_key
        self._name_key = name_key
        self._folders: set[str] = set()
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.tmp.mkdir(mode=0o700, parents=True, exist_ok=True)

    # -- naming ---------------------------------------------------------------------------
    def name_for(self, sha256_hex: str) -> str:
        return hmac.new(self._name_key, bytes.fromhex(sha256_hex), hashlib.sha256).hexdigest()

    def path_for(self, sha256_hex: str) -> Path:
        name = self.name_for(sha256_hex)
        return self.root / name[:2] / name[2:]

    def has(self, sha256_hex: str) -> bool:
        return self.path_for(sha256_hex).is_file()

    # -- writing --------------------------------------------------------------------------
    @property
    def owner(self) -> str:
        if self._owner is None:
            self._owner = life_token(self.tmp)
        return self._owner

    def _temp_path(self) -> Path:
        return self.tmp / f".w-{self.owner}-{secrets.token_hex(8)}"

    def stage(self, data: bytes | memoryview | mmap.mmap, sha256_hex: str) -> Path | None:
        """Seal ``data`` into a temp file (not yet durable, not yet visible).

        Returns None when the object is already stored. The caller makes staged files
        durable (fsync or :func:`sync_filesystem`) and then calls :meth:`commit`.
        """
        if self.has(sha256_hex):
            return None
        tmp = self._temp_path()
        try:
            with open(tmp, "xb") as fh:
                seal_bytes(fh, self._key, data, bytes.fromhex(sha256_hex))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return tmp

    def commit(self, staged: Path, sha256_hex: str) -> bool:
        """Rename a durable staged file into place; False if the object was already there."""
        name = self.name_for(sha256_hex)
        folder = os.path.join(self.root, name[:2])
        final = os.path.join(folder, name[2:])
        if os.path.exists(final):
            remove_file(staged)
            return False
        if folder not in self._folders:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            self._folders.add(folder)
        os.chmod(staged, READ_ONLY)
        os.replace(staged, final)
        return True

    def put_bytes(self, data: bytes | memoryview, sha256_hex: str) -> bool:
        """Store ``data`` (whose SHA-256 is given) durably; False when it was already there."""
        staged = self.stage(data, sha256_hex)
        if staged is None:
            return False
        try:
            fd = os.open(staged, os.O_RDONLY | BINARY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            created = self.commit(staged, sha256_hex)
        except BaseException:
            remove_file(staged)  # read-only once commit sealed it
            raise
        fsync_dir(self.path_for(sha256_hex).parent)
        return created

    # -- reading --------------------------------------------------------------------------
    def iter_chunks(self, sha256_hex: str) -> Iterator[bytes]:
        path = self.path_for(sha256_hex)
        try:
            fh = open(path, "rb")
        except FileNotFoundError:
            raise ObjectStoreError("An object referenced by the library is missing.") from None
        with fh:
            yield from iter_unsealed(fh, self._key, bytes.fromhex(sha256_hex))

    def open(self, sha256_hex: str) -> SealedReader:
        """The original bytes as a stream (each chunk authenticated as it is read; a
        ``readinto`` of 1 MiB decrypts straight into the caller's buffer)."""
        try:
            fh = open(self.path_for(sha256_hex), "rb", buffering=0)
        except FileNotFoundError:
            raise ObjectStoreError("An object referenced by the library is missing.") from None
        return SealedReader(fh, self._key, bytes.fromhex(sha256_hex))

    def peek(self, sha256_hex: str, size: int) -> bytes:
        """The first ``size`` bytes of an object (at most 1 MiB), decrypted but not yet
        authenticated: see :func:`sealed.peek_unsealed` for the only safe use."""
        try:
            with open(self.path_for(sha256_hex), "rb") as fh:
                return peek_unsealed(fh, self._key, size, bytes.fromhex(sha256_hex))
        except FileNotFoundError:
            raise ObjectStoreError("An object referenced by the library is missing.") from None

    def read(self, sha256_hex: str, verify: bool = False) -> bytes:
        """The original bytes. Every chunk is authenticated and bound to ``sha256_hex``, so a
        tampered or swapped object fails here; ``verify`` also recomputes the SHA-256 (checks)."""
        data = b"".join(self.iter_chunks(sha256_hex))
        if verify and hashlib.sha256(data).hexdigest() != sha256_hex:
            raise ObjectStoreError("An object in the library does not match its recorded hash.")
        return data

    def discard(self, sha256_hex: str) -> None:
        """Remove an object that nothing references (never an indexed original)."""
        remove_file(self.path_for(sha256_hex))  # sealed read-only

    # -- housekeeping ---------------------------------------------------------------------
    def sweep_stale_temps(self) -> int:
        """Remove temp files left by writers that no longer run (after a crash)."""
        removed = 0
        for entry in self.tmp.iterdir():
            parts = entry.name.split("-")
            if len(parts) < 3 or not parts[0] == ".w":
                continue
            owner = parts[1]
            if "x" in owner:  # a life token: its lock says whether the committing process runs
                if token_alive(self.tmp, owner):
                    continue
            else:  # a temp of an older version, named by its pid
                try:
                    pid = int(owner)
                except ValueError:
                    continue
                if pid == os.getpid() or process_alive(pid):
                    continue
            entry.unlink(missing_ok=True)
            removed += 1
        sweep_dead_tokens(self.tmp)
        return removed

    def iter_object_paths(self) -> Iterator[Path]:
        for sub in sorted(self.root.iterdir()):
            if sub.is_dir():
                yield from sorted(sub.iterdir())
