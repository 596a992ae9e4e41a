from __future__ import annotations

import hashlib
import os
import stat

import pytest

from desktop.core.common.errors import ObjectStoreError
from desktop.core.library.object_store import ObjectStore


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects", tmp_path / "tmp", os.urandom(32), os.urandom(32))


def test_stored_once_read_back_verified_and_read_only(store):
    data = b"DICM" + os.urandom(5000)
    sha = hashlib.sha256(data).hexdigest()
    assert store.put_bytes(data, sha) is True
    assert store.put_bytes(data, sha) is False
    assert store.read(sha) == data
    path = store.path_for(sha)
    assert stat.S_IMODE(path.stat().st_mode) == stat.S_IRUSR
    assert data not in path.read_bytes()
    assert list(store.tmp.iterdir()) == []


def test_object_names_do_not_reveal_the_content_hash(store):
    sha = hashlib.sha256(b"x").hexdigest()
    assert sha not in str(store.path_for(sha))


def test_a_missing_or_altered_object_is_an_error_not_a_crash(store):
    sha = hashlib.sha256(b"abc").hexdigest()
    with pytest.raises(ObjectStoreError, match="missing"):
        store.read(sha)
    store.put_bytes(b"abc", sha)
    path = store.path_for(sha)
    os.chmod(path, 0o600)
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ObjectStoreError):
        store.read(sha)


def test_temps_of_dead_writers_are_swept(store):
    stale = store.tmp / ".w-999999-deadbeef"
    stale.write_bytes(b"half")
    mine = store.tmp / f".w-{os.getpid()}-cafe"
    mine.write_bytes(b"in progress")
    assert store.sweep_stale_temps() == 1
    assert not stale.exists() and mine.exists()


def test_an_object_moved_to_another_objects_name_does_not_open(store):
    a, b = b"DICM" + os.urandom(500), b"DICM" + os.urandom(500)
    sha_a, sha_b = hashlib.sha256(a).hexdigest(), hashlib.sha256(b).hexdigest()
    store.put_bytes(a, sha_a)
    store.put_bytes(b, sha_b)
    path_a, path_b = store.path_for(sha_a), store.path_for(sha_b)
    os.chmod(path_a, 0o600)
    path_a.write_bytes(path_b.read_bytes())  # someone swaps the files on disk
    with pytest.raises(ObjectStoreError, match="integrity"):
        store.read(sha_a)
    assert store.read(sha_b, verify=True) == b
