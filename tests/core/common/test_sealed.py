from __future__ import annotations

import io
import os

import pytest

from desktop.core.common.errors import ObjectStoreError
from desktop.core.common.sealed import (
    CHUNK,
    HEADER_SIZE,
    TAG,
    SealedReader,
    peek_unsealed,
    seal_bytes,
    unseal_bytes,
)

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


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
@pytest.mark.parametrize("block", [1000, CHUNK, CHUNK + 7])
def test_reader_gives_the_plaintext_for_any_read_size(size, block):
    data = os.urandom(size)
    sealed = io.BytesIO()
    seal_bytes(sealed, KEY, data, b"context")
    reader = SealedReader(io.BytesIO(sealed.getvalue()), KEY, b"context")
    got, buffer = bytearray(), bytearray(block)
    while count := reader.readinto(buffer):
        got += buffer[:count]
    reader.close()
    assert bytes(got) == data
    with SealedReader(io.BytesIO(sealed.getvalue()), KEY, b"context") as whole:
        assert whole.read() == data


@pytest.mark.parametrize("damage", ["flip", "cut at a chunk boundary", "cut in a chunk",
                                    "other context"])
def test_reader_refuses_damage_before_giving_its_bytes(damage):
    blob = bytearray(_sealed(2 * CHUNK + 10))
    context = b""
    if damage == "flip":
        blob[-3] ^= 1
    elif damage == "cut at a chunk boundary":
        del blob[HEADER_SIZE + 2 * (CHUNK + TAG):]
    elif damage == "cut in a chunk":
        del blob[-1:]
    else:
        context = b"another object"
    with pytest.raises(ObjectStoreError, match="integrity"):
        with SealedReader(io.BytesIO(bytes(blob)), KEY, context) as reader:
            reader.read()


@pytest.mark.parametrize("size", [0, 5, 4096, CHUNK, CHUNK + 1, 2 * CHUNK + 3])
def test_peek_gives_the_first_bytes_without_the_whole_chunk(size):
    data = os.urandom(size)
    sealed = io.BytesIO()
    seal_bytes(sealed, KEY, data, b"context")
    for want in (1, 16 << 10, CHUNK, CHUNK + 99):
        sealed.seek(0)
        assert peek_unsealed(sealed, KEY, want, b"context") == data[:min(want, CHUNK)]


def test_peek_is_not_authenticated_so_it_sees_a_flipped_bit():
    """Why its callers must check the peeked bytes against authenticated ones later."""
    data = bytes(100)
    sealed = io.BytesIO()
    seal_bytes(sealed, KEY, data)
    blob = bytearray(sealed.getvalue())
    blob[HEADER_SIZE + 3] ^= 1
    assert peek_unsealed(io.BytesIO(bytes(blob)), KEY, 10) == bytes(3) + b"\x01" + bytes(6)
    with pytest.raises(ObjectStoreError):
        unseal_bytes(io.BytesIO(bytes(blob)), KEY)
