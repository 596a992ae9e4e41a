"""A teaching case as a value: its fields, key images in order, the text checked before it
leaves, undo across every kind of edit, storage and what a forged document gets."""

from __future__ import annotations

import json

import pytest

from desktop.core.cases.annotations import Annotations, Kind
from desktop.core.cases.case import (
    MAX_KEYWORDS,
    CaseError,
    Difficulty,
    KeyImage,
    KeyView,
    TeachingCase,
)
from desktop.core.common.undo import History

STUDY = "1.2.826.0.1.3680043.8.498.1"
IMAGES = [f"1.2.826.0.1.3680043.8.498.1.{n}" for n in range(1, 5)]


def _key(uid: str, frame: int = 0, **view) -> KeyImage:  # noqa: ANN003 - KeyView fields
    return KeyImage(uid, frame, KeyView(**view), Annotations(512, 512))


def _case(**fields) -> TeachingCase:  # noqa: ANN003 - TeachingCase fields
    return TeachingCase(**{"title": "Tension pneumothorax", "study_uids": (STUDY,), **fields})


def test_a_case_holds_its_teaching_file_fields():
    case = _case(history="Stab wound, left chest.\nHypotensive.", findings="Mediastinal shift to the right.",
                 diagnosis="Tension pneumothorax", differential="Large bulla",
                 teaching_points="Do not wait for the CT.",
                 keywords=("chest", "trauma", "chest", " "), modality="CT", anatomy="Chest",
                 difficulty="beginner", author="Dr A. Reader")
    assert case.keywords == ("chest", "trauma") and case.difficulty is Difficulty.BEGINNER
    assert case.history == "Stab wound, left chest.\nHypotensive."  # line breaks kept in free text
    assert TeachingCase.from_json(case.to_json()) == case


@pytest.mark.parametrize("fields, problem", [
    ({"title": "  "}, "needs a title"),
    ({"study_uids": ()}, "at least one study"),
    ({"study_uids": ("not a uid",)}, "valid Study Instance UID"),
    ({"keywords": tuple(f"k{n}" for n in range(MAX_KEYWORDS + 1))}, f"at most {MAX_KEYWORDS} keywords"),
    ({"history": "x" * 20_001}, "history holds at most"),
    ({"difficulty": "impossible"}, "impossible"),
])
def test_what_a_case_cannot_be(fields, problem):
    with pytest.raises((CaseError, ValueError), match=problem):
        _case(**fields)


def test_key_images_are_marked_once_reordered_captioned_and_removed():
    case = _case()
    for uid in IMAGES[:3]:
        case = case.with_key_image(_key(uid))
    case = case.with_key_image(_key(IMAGES[1], window_center=40, window_width=400))  # marked again: new view
    assert [k.sop_uid for k in case.key_images] == IMAGES[:3]
    assert case.key_images[1].view.window_width == 400
    case = case.with_key_image(_key(IMAGES[1], frame=3))  # another frame of a cine is another key image
    assert len(case.key_images) == 4
    case = case.moved_key_image(0, 2)
    assert [k.key for k in case.key_images] == [(IMAGES[1], 0), (IMAGES[2], 0), (IMAGES[0], 0), (IMAGES[1], 3)]
    case = case.with_caption(0, "Deep sulcus sign")
    assert case.key_images[0].caption == "Deep sulcus sign"
    case = case.without_key_image(3)
    assert [k.key for k in case.key_images] == [(IMAGES[1], 0), (IMAGES[2], 0), (IMAGES[0], 0)]


def test_a_key_view_is_checked():
    with pytest.raises(CaseError, match="both its centre and its width"):
        KeyView(window_center=40)
    with pytest.raises(CaseError, match="width must be a positive"):
        KeyView(window_center=40, window_width=0)
    with pytest.raises(CaseError, match="zoom"):
        KeyView(zoom=float("inf"))
    with pytest.raises(CaseError, match="left-top corner first"):
        KeyView(crop=(10, 10, 5, 20))
    with pytest.raises(CaseError, match="crop reaches outside"):
        _key(IMAGES[0], crop=(0, 0, 600, 100))
    assert KeyView(rotation_quarters=5).rotation_quarters == 1


def test_every_typed_text_is_named_for_the_identifier_check():
    marks = Annotations(512, 512).add(Kind.TEXT, [(5, 5)], "Mrs Pemberthy's lung").add(Kind.ARROW, [(1, 1), (9, 9)])
    case = _case(history="Seen by Dr Who on 12/03/2021", keywords=("MRN 12345",), author="A. Reader")
    case = case.with_key_image(KeyImage(IMAGES[0], 0, KeyView(), marks, "Jane at 3 years"))
    texts = dict(case.typed_texts())
    assert texts["History"] == "Seen by Dr Who on 12/03/2021"
    assert texts["Keyword"] == "MRN 12345"
    assert texts["Key image 1 caption"] == "Jane at 3 years"
    assert texts["Key image 1 label"] == "Mrs Pemberthy's lung"
    assert texts["Author"] == "A. Reader" and "Findings" not in texts  # empty fields are not listed


def test_undo_runs_through_fields_key_images_and_annotations():
    history = History(_case())
    history.apply(history.value.with_fields(diagnosis="Pneumothorax"), "Diagnosis")
    history.apply(history.value.with_key_image(_key(IMAGES[0])), "Mark key image")
    marks = history.value.key_images[0].annotations.add(Kind.ARROW, [(10, 10), (100, 100)])
    history.apply(history.value.with_annotations(0, marks), "Add arrow")
    assert len(history.value.key_images[0].annotations.items) == 1
    history.undo()
    assert history.value.key_images[0].annotations.items == ()
    history.undo()
    assert history.value.key_images == ()
    history.undo()
    assert history.value.diagnosis == "" and not history.can_undo
    with pytest.raises(CaseError, match="no field"):
        history.value.with_fields(patient_name="Smith")


def test_a_stored_case_reads_back_and_a_forged_one_is_refused():
    case = _case(diagnosis="Pneumothorax").with_key_image(
        KeyImage(IMAGES[0], 2, KeyView(40, 400, 2.0, (10, -5), (0, 0, 256, 256), 1, True), Annotations(512, 512),
                 "Caption"))
    assert TeachingCase.from_json(case.to_json()) == case
    data = json.loads(case.to_json())
    data["key_images"][0]["sop_uid"] = "../../etc/passwd"
    with pytest.raises(CaseError, match="valid SOP Instance UID"):
        TeachingCase.from_json(json.dumps(data))
    for forged in ("{}", '{"format": 1}', '{"format": 1, "title": "t", "study_uids": "1.2"}', "[1]",
                   '{"format": 1, "title": "t", "study_uids": ["1.2"], "key_images": [{"sop_uid": "1.2"}]}'):
        with pytest.raises(CaseError):
            TeachingCase.from_json(forged)
