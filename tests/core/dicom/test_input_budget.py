"""The input budget (issue 15): each hostile shape is refused before pydicom parses it, with a
reason naming the limit; every real file that Veil imports passes."""

from __future__ import annotations

import errno
import mmap
import os
import warnings
import zipfile
from dataclasses import replace

import pytest

from desktop.core.dicom.header import parse_header
from desktop.core.dicom.input_budget import (
    DEFAULT_BUDGET,
    GiB,
    InputBudget,
    Malformed,
    OverBudget,
    check_structure,
    human_size,
    open_regular,
    parse_size,
)
from desktop.core.library.ingest import Ingested, NoRoom, ingest
from desktop.core.library.object_store import ObjectStore
from desktop.core.library.sources import FileSource, Rejected, ZipMember, discover
from tests import hostile
from tests.conftest import pydicom_data_files, pydicom_test_files


def _refused(data: bytes, budget: InputBudget = DEFAULT_BUDGET) -> str:
    with pytest.raises(OverBudget) as caught:
        check_structure(data, budget)
    return str(caught.value)


def test_every_real_file_that_parses_passes_the_walk():
    """No false alarm: pydicom's test files and pydicom-data (odd encodings, big endian, no
    File Meta, deflated, encapsulated, private sequences) pass wherever the parser accepts."""
    checked = 0
    for root in (pydicom_test_files(), pydicom_data_files()):
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    parse_header(data)
            except Exception:  # noqa: BLE001 - the parser refused it; only what it accepts is walked
                continue
            check_structure(data)
            checked += 1
    assert checked > 100


def test_a_sparse_file_of_zeros_after_the_header_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "zeros.dcm"
    if not hostile.write_sparse(path, hostile.meta(), 4 * GiB):
        pytest.skip("this file system does not make sparse files")
    budget = replace(DEFAULT_BUDGET, max_file_size=8 * GiB)
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        with pytest.raises(OverBudget, match=r"^the file is 4\.0 GiB of which the data after the header is all zeros$"):
            check_structure(mm, budget, fd=fh.fileno())
    with pytest.raises(OverBudget, match=r"the file is 4\.0 GiB, larger than the 2\.0 GiB limit"):
        DEFAULT_BUDGET.check_size(path.stat().st_size)


def test_zero_filled_files_and_zero_tails():
    assert _refused(bytes(10 << 20)) == "the file is 10.0 MiB of which the data is all zeros"
    check_structure(hostile.valid() + bytes(100))  # a little padding after the last element is fine
    assert "of zeros follow the last element" in _refused(hostile.valid() + bytes(1 << 20))


def test_nesting_items_and_elements_are_bounded():
    check_structure(hostile.deep(20))
    assert _refused(hostile.deep(200)) == "sequences nested more than 32 deep (limit 32)"
    check_structure(hostile.deep_unknown(20))
    assert _refused(hostile.deep_unknown(200)) == "sequences nested more than 32 deep (limit 32)"
    assert _refused(hostile.many_items(200_000)) == "more than 100,000 sequence items (limit 100,000)"
    assert _refused(hostile.many_elements(600_000)) == ("more than 500,000 elements, items and fragments "
                                                        "(limit 500,000)")


def test_lengths_that_lie_and_elements_that_make_no_sense():
    assert _refused(hostile.lying_pixel_data()) == (
        "truncated: Pixel Data (7FE0,0010) declares 4294967294 bytes but only 12 remain in the file")
    assert "(0040,A730) has an undefined length and no delimiter" in _refused(hostile.undelimited_sequence())
    assert "(0008,0018) comes after (0010,0010)" in _refused(hostile.out_of_order())
    assert "the VR 'QZ', which DICOM does not define" in _refused(hostile.unknown_vr())
    assert isinstance(pytest.raises(Malformed, check_structure, hostile.out_of_order()).value, Malformed)
    assert _refused(b"hello, not an image\n") == (
        "not a DICOM file: no 'DICM' prefix and the data does not parse as a DICOM dataset")


def test_value_length_and_time_budgets():
    big = hostile.valid() + hostile.element(0x00291010, "OB", bytes(4096))
    assert _refused(big, replace(DEFAULT_BUDGET, max_value_length=1024)) == (
        "element (0029,1010) holds 4 KiB, more than the 1 KiB limit for one value other than the Pixel Data")
    # The deadline is checked as the walk goes: with none left, a long walk stops at the first check.
    assert _refused(hostile.many_elements(5000), replace(DEFAULT_BUDGET, max_seconds=0)) == (
        "its structure took longer than 0 s to read (limit 0 s)")


def test_sizes_for_people():
    assert human_size(4 * GiB) == "4.0 GiB" and human_size(2048) == "2 KiB" and human_size(12) == "12 bytes"
    assert parse_size("2G") == 2 * GiB and parse_size("512M") == 512 << 20 and parse_size("4GiB") == 4 * GiB
    with pytest.raises(ValueError):
        parse_size("lots")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(OverBudget, match="not a regular file"):
        open_regular(fifo)


def test_open_regular_flags_on_posix_and_without_them_on_windows(tmp_path, monkeypatch):
    from desktop.core.dicom import input_budget

    assert (input_budget._NONBLOCK, input_budget._NOCTTY) == (os.O_NONBLOCK, os.O_NOCTTY)  # POSIX: unchanged
    path = tmp_path / "a.dcm"
    path.write_bytes(b"\r\n\x1a data")
    # Windows's os.open has neither flag, and Python 3.11 there has no os.set_blocking.
    monkeypatch.setattr(input_budget, "_NONBLOCK", 0)
    monkeypatch.setattr(input_budget, "_NOCTTY", 0)
    monkeypatch.delattr(os, "set_blocking")
    fd = open_regular(path)
    try:
        assert os.read(fd, 100) == b"\r\n\x1a data"
    finally:
        os.close(fd)


@pytest.fixture
def store(tmp_path):
    return ObjectStore(tmp_path / "objects", tmp_path / "tmp", bytes(32), bytes(32))


def test_ingest_refuses_over_budget_files_and_archives_inside_archives(tmp_path, store):
    bad = tmp_path / "deep.dcm"
    bad.write_bytes(hostile.deep(100))
    result = ingest(FileSource(str(bad), bad.stat().st_size), store)
    assert isinstance(result, Rejected) and result.reason == "sequences nested more than 32 deep (limit 32)"
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w") as zf:
        zf.writestr("a.dcm", b"x")
    outer = tmp_path / "outer.zip"
    with zipfile.ZipFile(outer, "w") as zf:
        zf.write(inner, "looks-like-an-image.dcm")  # a zip by its bytes, not by its name
    result = ingest(ZipMember(str(outer), "looks-like-an-image.dcm", inner.stat().st_size), store)
    assert isinstance(result, Rejected) and "a .zip archive inside a .zip archive" in result.reason
    assert list(store.tmp.iterdir()) == []


def test_a_full_disk_while_sealing_is_no_room_not_a_rejection(tmp_path, store, monkeypatch):
    good = tmp_path / "ct.dcm"
    good.write_bytes((pydicom_test_files() / "CT_small.dcm").read_bytes())

    def full(*_args):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(store, "stage", full)
    assert ingest(FileSource(str(good), good.stat().st_size), store) == NoRoom(str(good), good.stat().st_size)
    monkeypatch.undo()
    assert isinstance(ingest(FileSource(str(good), good.stat().st_size), store), Ingested)


def _reasons(found) -> dict[str, str]:
    return {r.label.rsplit("/", 1)[-1]: r.reason for r in found if isinstance(r, Rejected)}


def test_archives_are_bounded_by_count_total_and_ratio(tmp_path):
    many = tmp_path / "many.zip"
    with zipfile.ZipFile(many, "w") as zf:
        for n in range(20):
            zf.writestr(f"e{n}", b"")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.dcm", bytes(32 << 20))
        zf.writestr("nested/inner.zip", b"PK\x05\x06" + bytes(18))
    budget = replace(DEFAULT_BUDGET, max_zip_entries=10)
    reasons = _reasons(discover([many, bomb], budget=budget))
    assert "20 entries" in reasons["many.zip"] and "limit 10" in reasons["many.zip"]
    bomb_reason = reasons["bomb.zip::zeros.dcm"]
    assert bomb_reason.startswith("zip entry inflates") and "a zip bomb?" in bomb_reason
    assert "a zip inside a zip" in reasons["inner.zip"]
    small_total = replace(DEFAULT_BUDGET, max_zip_total=1 << 20)
    assert "would inflate to 32.0 MiB (limit 1.0 MiB)" in _reasons(discover([bomb], budget=small_total))["bomb.zip"]


def test_discovery_refuses_files_larger_than_the_budget_without_opening_them(tmp_path):
    big = tmp_path / "big.dcm"
    big.write_bytes(hostile.valid() + bytes(4096))
    os.chmod(big, 0)  # never opened: the size is enough
    reasons = _reasons(discover([tmp_path], budget=replace(DEFAULT_BUDGET, max_file_size=1024)))
    assert reasons["big.dcm"].startswith("the file is 4 KiB, larger than the 1 KiB limit for one file")
