"""Scanner templates: Veil's JSON and RSNA CTP's DicomPixelAnonymizer.script format."""

from __future__ import annotations

import pydicom
import pytest

from desktop.core.common.errors import VeilError
from desktop.core.common.resources import resource_path
from desktop.core.redaction.mask import Scope
from desktop.core.redaction.templates import load_templates, matching, parse_condition, parse_ctp_script
from tests.conftest import pydicom_data_files, pydicom_test_files

CTP_SCRIPT = """
# A site's rules, CTP style
{ Modality.equals("US") * Manufacturer.containsIgnoreCase("acme") * Rows.equals("480") }
  (0,0,640,45) (0,440,640,40)

// another vendor, either model
{ [0008,0060].equals("US") * ( ManufacturerModelName.startsWith("Sono") + ManufacturerModelName.matches("X[0-9]+") ) }
  (10,5,300,30)
{ !Modality.equals("US") * ImageType.contains("SECONDARY") }
  (0,0,100,20)
"""


def _us():  # noqa: ANN202
    ds = pydicom.dcmread(next(pydicom_data_files().rglob("US1_UNCR.dcm")))
    return ds


def test_ctp_scripts_are_read_and_matched():
    templates = parse_ctp_script(CTP_SCRIPT)
    assert [t.regions for t in templates] == [((0, 0, 640, 45), (0, 440, 640, 40)), ((10, 5, 300, 30),),
                                             ((0, 0, 100, 20),)]
    ds = _us()
    ds.Manufacturer, ds.Rows = "ACME Medical", 480
    assert [t.name for t in matching(templates, ds)] == ["DicomPixelAnonymizer.script rule 1"]
    ds.ManufacturerModelName = "X200"
    assert len(matching(templates, ds)) == 2
    ds.ManufacturerModelName = "SonoMax"
    ds.Manufacturer = "Other"
    assert [t.name for t in matching(templates, ds)] == ["DicomPixelAnonymizer.script rule 2"]
    ct = pydicom.dcmread(pydicom_test_files() / "CT_small.dcm")
    assert matching(templates, ct) == []


def test_a_template_becomes_a_series_wide_mask():
    (template,) = parse_ctp_script('{ Modality.equals("US") }\n(0,0,640,45) (600,400,100,100)')
    mask = template.mask(480, 640)
    assert mask.scope is Scope.SERIES
    pixels = mask.rasterize()
    assert pixels[:45].all() and not pixels[45:400].any() and pixels[479, 639]


@pytest.mark.parametrize("bad", ['Modality.equals("US"', 'Modality.wobble("US")', 'Nonsense.equals("x")',
                                 'Modality.equals("US") * ', '( Modality.equals("US")'])
def test_bad_conditions_are_named(bad):
    with pytest.raises(VeilError):
        condition = parse_condition(bad)
        condition(_us())


def test_the_shipped_templates_load_and_match_an_ultrasound():
    templates = load_templates(resource_path("redaction", "templates.json"))
    assert len(templates) >= 3
    ds = _us()  # 640x480 ultrasound
    hits = matching(templates, ds)
    assert [t.name for t in hits] == ["Ultrasound 640x480: top banner"]
    ds.BurnedInAnnotation = "NO"
    assert matching(templates, ds) == []


def test_negative_offsets_count_from_the_bottom(tmp_path):
    path = tmp_path / "t.json"
    path.write_text('{"templates": [{"name": "b", "when": "", "regions": [[0, -10, 50, 10]]}]}')
    (template,) = load_templates(path)
    pixels = template.mask(100, 50).rasterize()
    assert pixels[90:].all() and not pixels[:90].any()


def test_a_ctp_file_is_read_by_suffix(tmp_path):
    path = tmp_path / "DicomPixelAnonymizer.script"
    path.write_text(CTP_SCRIPT)
    assert len(load_templates(path)) == 3
