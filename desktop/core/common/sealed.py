"""Sealed files: authenticated encryption in chunks, so large objects stream.

Layout (all integers big-endian)::

    magic   8 bytes  b"VEILOBJ1"
    salt   16 bytes  random; file key = HKDF-SHA256(object key, salt, info = v1 || context)
    chunks           AES-256-GCM(file key, nonce, plaintext chunk) each 1 MiB + 16-byte tag

The nonce of chunk *i* is an 11-byte counter *i* and one byte that is 1 for the final chunk
and 0 otherwise (the STREAM construction used by age), so reordering, dropping, appending or
truncating chunks is detected. The final chunk holds 1..CHUNK bytes, or 0 for an empty file.
The ``context`` (the object store passes the content's SHA-256) is bound into the file key, so
a sealed file moved to another object's name fails to open rather than showing other data.
"""

from __future__ import annotations

import io
import mmap
import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.core.common.errors import ObjectStoreError

MAGIC = b"VEILOBJ1"
SALT_SIZE = 16
CHUNK = 1 << 20
TAG = 16
HEADER_SIZE = len(MAGIC) + SALT_SIZE


def _file_key(key: bytes, salt: bytes, context: bytes) -> bytes:
    info = b"veil object v1" + context
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)


def _file_cipher(key: bytes, salt: bytes, context: bytes) -> AESGCM:
    return AESGCM(_file_key(key, salt, context))


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal_bytes(out: BinaryIO, key: bytes, data: bytes | memoryview | mmap.mmap, context: bytes = b"") -> None:
    """Seal ``data`` into ``out`` in one go, bound to ``context``."""
    view = memoryview(data)
    salt = os.urandom(SALT_SIZE)
    aead = _file_cipher(key, salt, context)
    out.write(MAGIC + salt)
    n = len(view)
    count = max(1, -(-n // CHUNK))
    for i in range(count):
        out.write(aead.encrypt(_nonce(i, i == count - 1), view[i * CHUNK : (i + 1) * CHUNK], None))


def iter_unsealed(fh: BinaryIO, key: bytes, context: bytes = b"") -> Iterator[bytes]:
    """Yield the plaintext chunks of a sealed stream, checking every tag."""
    header = fh.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
        raise ObjectStoreError("An object in the library is not a Veil sealed file.")
    aead = _file_cipher(key, header[len(MAGIC) :], context)
    counter = 0
    block = fh.read(CHUNK + TAG)
    while True:
        nxt = fh.read(CHUNK + TAG)
        last = not nxt
        try:
            yield aead.decrypt(_nonce(counter, last), block, None)
        except InvalidTag:
            raise ObjectStoreError(
                "An object in the library failed its integrity check (altered or truncated)."
            ) from None
        if last:
            return
        block = nxt
        counter += 1


def _damaged() -> ObjectStoreError:
    return ObjectStoreError("An object in the library failed its integrity check (altered or "
                            "truncated).")


def _open_sealed(fh: BinaryIO | io.RawIOBase) -> tuple[bytes, int]:
    """(salt, bytes of sealed chunks) of a sealed stream at its start, left after its header."""
    header = fh.read(HEADER_SIZE)
    if len(header) != HEADER_SIZE or not header.startswith(MAGIC):
        raise ObjectStoreError("An object in the library is not a Veil sealed file.")
    sealed_size = fh.seek(0, os.SEEK_END) - HEADER_SIZE
    fh.seek(HEADER_SIZE)
    if sealed_size < TAG:
        raise _damaged()
    return header[len(MAGIC):], sealed_size


_SPARE: list[bytearray] = []  # sealed-chunk buffers of closed readers, for the next ones
_MAX_SPARE = 4


class SealedReader(io.RawIOBase):
    """A sealed stream read as its plaintext, every chunk authenticated before its bytes are
    given. A ``readinto`` of at least a chunk's plaintext decrypts straight into the caller's
    buffer: reading in 1 MiB blocks into reused buffers allocates nothing per chunk. The
    stream's size is taken when it is opened; a stream cut short, even at a chunk boundary,
    fails its final chunk's check."""

    def __init__(self, fh: io.RawIOBase, key: bytes, context: bytes = b"") -> None:
        super().__init__()
        try:
            salt, self._left = _open_sealed(fh)
        except BaseException:
            fh.close()
            raise
        self._fh = fh
        self._aead = _file_cipher(key, salt, context)
        self._counter = 0
        try:
            self._sealed = _SPARE.pop()
        except IndexError:
            self._sealed = bytearray(CHUNK + TAG)
        self._plain = memoryview(b"")  # decrypted bytes not yet read (a short readinto's rest)

    def readable(self) -> bool:
        return True

    def _decrypt_next(self, into: memoryview) -> None:
        """Read the next chunk and decrypt it into ``into`` (exactly its plaintext's size)."""
        size = len(into) + TAG
        view, have = memoryview(self._sealed)[:size], 0
        while have < size:
            got = self._fh.readinto(view[have:])
            if not got:
                raise _damaged()
            have += got
        self._left -= size
        try:
            self._aead.decrypt_into(_nonce(self._counter, self._left == 0), view, None, into)
        except InvalidTag:
            raise _damaged() from None
        self._counter += 1

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        out = memoryview(buffer).cast("B")
        if not self._plain and self._left and len(out):
            size = min(self._left, CHUNK + TAG) - TAG
            if len(out) >= size:
                self._decrypt_next(out[:size])
                return size
            self._plain = memoryview(bytearray(size))
            self._decrypt_next(self._plain)
        count = min(len(out), len(self._plain))
        out[:count] = self._plain[:count]
        self._plain = self._plain[count:]
        return count

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            if len(_SPARE) < _MAX_SPARE:
                _SPARE.append(self._sealed)
            self._sealed = bytearray()
        super().close()


def peek_unsealed(fh: BinaryIO, key: bytes, size: int, context: bytes = b"") -> bytes:
    """The first ``size`` plaintext bytes (at most one chunk) of a sealed stream, decrypted but
    NOT authenticated: the chunk's tag covers the whole chunk, so it cannot be checked without
    reading all of it. GCM encrypts with AES-CTR from counter block ``nonce || 2`` (NIST SP
    800-38D, 7.1, for a 96-bit nonce), so a prefix decrypts alone.

    Use it only where the same bytes are authenticated later, before anything derived from
    them is released: the package writer reads DICOM headers this way in its first pass, and
    its second pass, reading every chunk authenticated (:class:`SealedReader`), checks that
    the authenticated bytes begin with exactly those it peeked at.
    """
    salt, sealed_size = _open_sealed(fh)
    last = sealed_size <= CHUNK + TAG  # chunk 0 is also the final chunk
    data = fh.read(min(max(size, 0), sealed_size - TAG if last else CHUNK))
    file_key = _file_key(key, salt, context)
    counter = _nonce(0, last) + (2).to_bytes(4, "big")
    decryptor = Cipher(algorithms.AES(file_key), modes.CTR(counter)).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def unseal_bytes(fh: BinaryIO, key: bytes, context: bytes = b"") -> bytes:
    """The whole plaintext of a sealed stream."""
    return b"".join(iter_unsealed(fh, key, context))
