from __future__ import annotations

from pathlib import Path

import pydicom

from desktop.core.imaging.frames import read_image
from desktop.core.imaging.tags import header_tree, search

TF = Path(pydicom.__file__).parent / "data" / "test_files"


def _tree(name: str):
    return header_tree(read_image((TF / name).read_bytes()))


def _flat(nodes):
    for node in nodes:
        yield node
        yield from _flat(node.children)


def test_meta_first_then_the_dataset_with_readable_values():
    nodes = _tree("CT_small.dcm")
    assert nodes[0].tag.startswith("(0002,")
    by_name = {n.name: n for n in nodes}
    assert by_name["PatientName"].value == "CompressedSamples^CT1"
    assert by_name["PatientName"].vr == "PN" and by_name["PatientName"].tag == "(0010,0010)"
    assert by_name["PixelData"].value == "<pixel data, 32,768 bytes>"


def test_private_tags_carry_their_creator():
    flat = list(_flat(_tree("CT_small.dcm")))
    ge = [n for n in flat if n.tag.startswith("(0009,10")]
    assert ge and all(n.private_creator == "GEMS_IDEN_01" for n in ge)
    assert any(n.name == "Private Creator" and n.value == "GEMS_IDEN_01" for n in flat)


def test_sequences_nest_with_their_items():
    nodes = _tree("rtplan.dcm")
    beams = next(n for n in nodes if n.name == "BeamSequence")
    assert beams.value == "<1 item>" and beams.children[0].tag == "Item 1"
    assert any(grand.children for item in beams.children for grand in item.children)  # nested deeper


def test_search_by_keyword_tag_or_value_keeps_the_context():
    nodes = _tree("CT_small.dcm")
    assert [n.name for n in search(nodes, "patientname")] == ["PatientName"]
    assert [n.name for n in search(nodes, "0010,0010")] == ["PatientName"]
    assert [n.name for n in search(nodes, "(0010, 0010)")] == ["PatientName"]
    assert "PatientName" in [n.name for n in search(nodes, "compressedsamples")]
    assert search(nodes, "") == ()
    plan = search(_tree("rtplan.dcm"), "ControlPointIndex")
    assert [n.name for n in plan] == ["BeamSequence"]  # the match inside, with its context
    assert any(leaf.name == "ControlPointIndex" for leaf in _flat(plan))
