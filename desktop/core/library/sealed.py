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

import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.core.errors import ObjectStoreError

MAGIC = b"VEILOBJ1"
SALT_SIZE = 16
CHUNK = 1 << 20
TAG = 16
HEADER_SIZE = len(MAGIC) + SALT_SIZE


def _file_cipher(key: bytes, salt: bytes, context: bytes) -> AESGCM:
    info = b"veil object v1" + context
    file_key = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(key)
    return AESGCM(file_key)


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def seal_bytes(out: BinaryIO, key: bytes, data: bytes | memoryview, context: bytes = b"") -> None:
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


def unseal_bytes(fh: BinaryIO, key: bytes, context: bytes = b"") -> bytes:
    """The whole plaintext of a sealed stream."""
    return b"".join(iter_unsealed(fh, key, context))
