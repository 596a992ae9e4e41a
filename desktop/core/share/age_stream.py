"""Streaming age v1 encryption and decryption in bounded memory.

pyrage 1.4 (the newest) cannot stream a passphrase-encrypted file (its ``passphrase`` module
takes and returns whole ``bytes``) and its ``encrypt_io`` pulls plaintext from a reader, where
the package writer pushes ZIP bytes. So the payload (the STREAM construction of the spec:
64 KiB chunks, ChaCha20-Poly1305, an 11-byte counter and a last-chunk flag as nonce) is
implemented here with ``cryptography``, for both recipients and passphrases; the tests prove
it against pyrage (rage) and the ``age`` binary in both directions.

Memory: the writer holds at most one plaintext chunk; the reader one ciphertext chunk of
look-ahead and one plaintext chunk. Given an output that lends its buffer (``reserve(size)``
then ``commit(size)``, as :class:`file_sink.FileSink` does), the writer encrypts each chunk
straight into it, with no bytes object per chunk.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import BinaryIO, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.core.share import age_header
from desktop.core.share.errors import DamagedPackageError
from desktop.core.share.identity import age_identity_key, age_recipient_key

CHUNK = 64 * 1024
_TAG = 16
_SEALED_CHUNK = CHUNK + _TAG
_NONCE_SIZE = 16


def _payload_aead(file_key: bytes, nonce: bytes) -> ChaCha20Poly1305:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=nonce, info=b"payload").derive(file_key)
    return ChaCha20Poly1305(key)


def _chunk_nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class ByteSink(Protocol):
    """Where the age file goes: a binary file, or a :class:`desktop.core.share.file_sink.FileSink`."""

    def write(self, data: bytes, /) -> int: ...


class AgeWriter:
    """Encrypts what is written to it and writes the age file to ``out``.

    Give either ``recipients`` (``age1...`` strings) or a ``passphrase``. :meth:`close`
    seals the last chunk; it does not close ``out``.
    """

    def __init__(self, out: ByteSink, *, recipients: Sequence[str] = (),
                 passphrase: str | None = None,
                 scrypt_log_n: int = age_header.DEFAULT_SCRYPT_LOG_N) -> None:
        if bool(recipients) == (passphrase is not None):
            raise ValueError("give recipients or a passphrase, not both or neither")
        file_key = os.urandom(age_header.FILE_KEY_SIZE)
        if passphrase is not None:
            stanzas = [age_header.wrap_scrypt(file_key, passphrase, scrypt_log_n)]
        else:
            stanzas = [age_header.wrap_x25519(file_key, age_recipient_key(r)) for r in recipients]
        nonce = os.urandom(_NONCE_SIZE)
        self._out = out
        self._reserve = getattr(out, "reserve", None)
        self._commit = getattr(out, "commit", None)
        self._aead = _payload_aead(file_key, nonce)
        self._counter = 0
        self._pending = bytearray()
        self._closed = False
        header = age_header.encode_header(stanzas, file_key)
        out.write(header)
        out.write(nonce)
        self.ciphertext_size = len(header) + _NONCE_SIZE

    def _seal(self, plaintext: bytes | bytearray | memoryview, last: bool) -> None:
        nonce = _chunk_nonce(self._counter, last)
        size = len(plaintext) + _TAG
        if self._reserve is not None and self._commit is not None:
            self._aead.encrypt_into(nonce, plaintext, None, self._reserve(size))
            self._commit(size)
        else:
            self._out.write(self._aead.encrypt(nonce, plaintext, None))
        self.ciphertext_size += size
        self._counter += 1

    def write(self, data: bytes | bytearray | memoryview) -> int:
        """Encrypt ``data`` (a chunk is sealed only once more data is known to follow)."""
        if self._closed:
            raise ValueError("write to a closed AgeWriter")
        view = memoryview(data).cast("B")
        size, pos = len(view), 0
        if self._pending:
            pos = min(CHUNK - len(self._pending), size)
            self._pending += view[:pos]
            if pos == size:
                return size
            self._seal(self._pending, last=False)
            self._pending = bytearray()
        while size - pos > CHUNK:
            self._seal(view[pos:pos + CHUNK], last=False)
            pos += CHUNK
        self._pending += view[pos:]
        return size

    def close(self) -> None:
        """Seal the final chunk (empty only if nothing was written)."""
        if not self._closed:
            self._seal(self._pending, last=True)
            self._pending = bytearray()
            self._closed = True


class AgeReader:
    """Decrypts an age file from ``source`` (a buffered binary file at its start).

    The header is read and the file key unwrapped on construction, so a wrong key or
    passphrase fails before any plaintext exists. Every chunk is authenticated before its
    bytes are returned; the end of the file is accepted only after a valid final chunk.
    """

    def __init__(self, source: BinaryIO, *, identities: Sequence[str] = (),
                 passphrase: str | None = None,
                 max_scrypt_log_n: int = age_header.MAX_SCRYPT_LOG_N) -> None:
        if bool(identities) == (passphrase is not None):
            raise ValueError("give identities or a passphrase, not both or neither")
        header = age_header.read_header(source)
        if passphrase is not None:
            file_key = age_header.unwrap_with_passphrase(header, passphrase, max_scrypt_log_n)
        else:
            file_key = age_header.unwrap_with_identities(
                header, [age_identity_key(i) for i in identities])
        nonce = self._read_full(source, _NONCE_SIZE)
        if len(nonce) != _NONCE_SIZE:
            raise DamagedPackageError("This package is incomplete (it ends early); ask the "
                                      "sender to send it again.")
        self._source = source
        self._aead = _payload_aead(file_key, nonce)
        self._counter = 0
        self._ahead = self._read_full(source, _SEALED_CHUNK)
        self._plain = b""
        self._pos = 0
        self._finished = False

    @staticmethod
    def _read_full(source: BinaryIO, size: int) -> bytes:
        parts, have = [], 0
        while have < size:
            part = source.read(size - have)
            if not part:
                break
            parts.append(part)
            have += len(part)
        return b"".join(parts)

    def _next_chunk(self) -> bytes:
        sealed = self._ahead
        if len(sealed) == _SEALED_CHUNK:
            self._ahead = self._read_full(self._source, _SEALED_CHUNK)
            last = not self._ahead
        else:
            last, self._ahead = True, b""
        try:
            plain = self._aead.decrypt(_chunk_nonce(self._counter, last), sealed, None)
        except InvalidTag:
            raise self._failure(sealed, last) from None
        if last:
            self._finished = True
            if not plain and self._counter > 0:
                raise DamagedPackageError("This package was altered or damaged (its last "
                                          "part is empty).")
        self._counter += 1
        return plain

    def _failure(self, sealed: bytes, last: bool) -> DamagedPackageError:
        if last and len(sealed) == _SEALED_CHUNK:
            try:  # a whole chunk that is not the final one: the file was cut at a boundary
                self._aead.decrypt(_chunk_nonce(self._counter, False), sealed, None)
                return DamagedPackageError("This package is incomplete (it ends early); ask "
                                           "the sender to send it again.")
            except InvalidTag:
                pass
        if last and len(sealed) <= _TAG:
            return DamagedPackageError("This package is incomplete (it ends early); ask the "
                                       "sender to send it again.")
        return DamagedPackageError("This package was altered or damaged: part of it does not "
                                   "decrypt. Ask the sender to send it again.")

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes of plaintext (fewer at a chunk boundary); b"" at the end."""
        if size < 0:
            return b"".join(iter(lambda: self.read(CHUNK), b""))
        if self._pos == len(self._plain):
            if self._finished:
                return b""
            self._plain, self._pos = self._next_chunk(), 0
        data = self._plain[self._pos:self._pos + size]
        self._pos += len(data)
        return data

    @property
    def at_end(self) -> bool:
        """True once the final chunk was authenticated and all plaintext was read."""
        return self._finished and self._pos == len(self._plain)
