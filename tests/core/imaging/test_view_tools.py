from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from desktop.core.common.errors import VeilError
from desktop.core.imaging.export import write_png
from desktop.core.imaging.presets import load_presets, presets_for
from desktop.core.imaging.transform import apply_view


def test_ct_presets_come_from_the_data_file():
    names = {w.name: (w.center, w.width) for w in presets_for("ct")}
    assert names["Brain"] == (40.0, 80.0)
    assert names["Lung"] == (-600.0, 1500.0)
    assert names["Bone"] == (400.0, 1800.0)
    assert "Abdomen / soft tissue" in names
    assert presets_for("MR") == []


def test_a_broken_presets_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.json"
    bad.write_text("{not json")
    with pytest.raises(VeilError, match="presets file cannot be read"):
        load_presets(bad)


def test_rotation_and_flips():
    img = np.array([[1, 2], [3, 4]], dtype=np.uint8)
    assert apply_view(img, 1).tolist() == [[3, 1], [4, 2]]  # clockwise
    assert apply_view(img, 2).tolist() == [[4, 3], [2, 1]]
    assert apply_view(img, -1).tolist() == apply_view(img, 3).tolist() == [[2, 4], [1, 3]]
    assert apply_view(img, flip_h=True).tolist() == [[2, 1], [4, 3]]
    assert apply_view(img, flip_v=True).tolist() == [[3, 4], [1, 2]]
    rgb = np.zeros((2, 3, 3), dtype=np.uint8)
    out = apply_view(rgb, 1)
    assert out.shape == (3, 2, 3) and out.flags.c_contiguous


def test_png_export_is_the_image_at_native_resolution(tmp_path):
    grey = np.arange(256 * 3, dtype=np.uint16).reshape(24, 32).astype(np.uint8)
    write_png(tmp_path / "grey.png", grey)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "grey.png")), grey)
    rgb = np.random.randint(0, 256, (5, 7, 3), dtype=np.uint8)
    write_png(tmp_path / "rgb.png", rgb)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "rgb.png")), rgb)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]
    with pytest.raises(VeilError):
        write_png(tmp_path / "x.png", np.zeros((2, 2), dtype=np.uint16))
