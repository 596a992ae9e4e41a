"""case.html: every typed text escaped, nothing fetched or run, key images named by file."""

from __future__ import annotations

import pytest

from desktop.core.cases.annotations import Annotations, Kind
from desktop.core.cases.case import KeyImage, KeyView, TeachingCase
from desktop.core.cases.case_page import case_page

STUDY, SOP = "1.2.826.0.1.3680043.8.498.1", "1.2.826.0.1.3680043.8.498.2"


def test_typed_markup_is_shown_as_text_never_run():
    marks = Annotations(64, 64).add(Kind.TEXT, [(3, 3)], "<img src=x onerror=alert(1)>")
    marks = marks.add(Kind.LINE, [(1, 1), (9, 9)])
    case = TeachingCase("<script>alert('t')</script>", (STUDY,), history="a\nb & c", keywords=("x<y",),
                        key_images=(KeyImage(SOP, 2, KeyView(), marks, "cap <b>"),))
    page = case_page(case, ["DICOM/D000/IM000000"], ["DICOM/D000/IM000001"]).decode()
    assert "<script>" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;" in page and "<p>a</p><p>b &amp; c</p>" in page and "x&lt;y" in page
    assert "frame 3" in page and "length measurement" in page and "DICOM/D000/IM000001" in page
    assert "http" not in page.replace("http-equiv", "")  # fetches nothing
    with pytest.raises(ValueError):
        case_page(case, [])
