from __future__ import annotations

import io
import os

import pytest

from desktop.core.errors import ObjectStoreError
from desktop.core.library.sealed import CHUNK, HEADER_SIZE, TAG, seal_bytes, unseal_bytes

KEY = bytes(range(32))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
def test_round_trip_at_every_chunk_boundary(size):
    data = os.urandom(size)
    sealed = io.BytesIO()
    seal_bytes(sealed, KEY, data)
    assert unseal_bytes(io.BytesIO(sealed.getvalue()), KEY) == data
    chunks = max(1, -(-size // CHUNK))
    assert len(sealed.getvalue()) == HEADER_SIZE + size + chunks * TAG


def _sealed(size: int) -> bytes:
    out = io.BytesIO()
    seal_bytes(out, KEY, os.urandom(size))
    return out.getvalue()


def test_a_flipped_bit_is_detected():
    blob = bytearray(_sealed(1000))
    blob[HEADER_SIZE + 10] ^= 1
    with pytest.raises(ObjectStoreError, match="integrity"):
        unseal_bytes(io.BytesIO(bytes(blob)), KEY)


def test_truncation_at_a_chunk_boundary_is_detected():
    blob = _sealed(2 * CHUNK + 10)
    cut = blob[: HEADER_SIZE + 2 * (CHUNK + TAG)]
    with pytest.raises(ObjectStoreError):
        unseal_bytes(io.BytesIO(cut), KEY)


def test_swapped_chunks_are_detected():
    blob = _sealed(2 * CHUNK + 10)
    a = blob[HEADER_SIZE : HEADER_SIZE + CHUNK + TAG]
    b = blob[HEADER_SIZE + CHUNK + TAG : HEADER_SIZE + 2 * (CHUNK + TAG)]
    swapped = blob[:HEADER_SIZE] + b + a + blob[HEADER_SIZE + 2 * (CHUNK + TAG) :]
    with pytest.raises(ObjectStoreError):
        unseal_bytes(io.BytesIO(swapped), KEY)


def test_wrong_key_and_not_sealed_are_refused():
    with pytest.raises(ObjectStoreError):
        unseal_bytes(io.BytesIO(_sealed(10)), bytes(32))
    with pytest.raises(ObjectStoreError, match="not a Veil sealed file"):
        unseal_bytes(io.BytesIO(b"DICM" * 10), KEY)
