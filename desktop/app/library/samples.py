"""Sample studies for a first run: the DICOM test data that pydicom and pydicom-data ship.

The folders are found on disk; pydicom's own ``get_testdata_files`` is not used because it
downloads missing files from the network.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from desktop.app.common.formatting import plural

if TYPE_CHECKING:
    from desktop.app.library.home import VeilHome
    from desktop.app.library.importing import ImportReport


def sample_folders() -> list[Path]:
    """Folders of sample DICOM files installed with Veil's dependencies."""
    folders = []
    spec = importlib.util.find_spec("pydicom")
    if spec and spec.origin:
        folders.append(Path(spec.origin).parent / "data" / "test_files")
    spec = importlib.util.find_spec("data_store")  # the pydicom-data package
    if spec and spec.origin:
        folders.append(Path(spec.origin).parent / "data")
    return [f for f in folders if f.is_dir()]


def is_sample_import(paths: Iterable[str | Path]) -> bool:
    """Whether ``paths`` are exactly the sample folders (``veil import --samples``, the app's
    Load Sample Studies), not the samples with something of the user's."""
    wanted = {str(Path(f)) for f in sample_folders()}
    return bool(wanted) and {str(Path(p)) for p in paths} == wanted


def sample_summary(home: VeilHome, report: ImportReport) -> str:
    """What loading the samples did, in a clinician's words: the studies, their modalities and
    patients; the test files pydicom ships broken on purpose (or that are not images) and the
    copies of images already loaded (the same image again, often in another encoding) are
    counted, not listed. A cancelled import, or one a full disk stopped, is said as any import."""
    from desktop.app.library.importing import headline

    if report.cancelled or report.disk_full:
        return headline(report)
    if report.imported == 0:
        return "The sample studies are already in the library; nothing was added."
    patients, modalities = _patients_and_modalities(home, report.study_uids)
    shown = ", ".join(modalities[:3]) + (", ..." if len(modalities) > 3 else "")
    text = (f"Loaded {plural(len(report.study_uids), 'sample study', 'sample studies')}"
            + (f" ({shown})" if shown else "") + f" of {plural(patients, 'patient')}.")
    broken, copies = len(report.rejected), report.already_present + len(report.duplicates)
    if broken:
        text += (f" {plural(broken, 'test file')} {'is' if broken == 1 else 'are'} deliberately broken or not "
                 f"{'an image' if broken == 1 else 'images'}, and {'was' if broken == 1 else 'were'} left out")
        if copies:
            text += f"; {copies:,} {'was a copy' if copies == 1 else 'were copies'} of images already loaded"
        text += "."
    elif copies:
        text += f" {plural(copies, 'file')} {'was a copy' if copies == 1 else 'were copies'} of images already loaded."
    return text


def _patients_and_modalities(home: VeilHome, study_uids: Iterable[str]) -> tuple[int, list[str]]:
    """How many patients the studies belong to, and their modalities (PS3.3 C.7.3.1, Modality),
    the most frequent first."""
    uids = sorted(set(study_uids))
    marks = ",".join("?" * len(uids))
    conn = home.connect()
    try:
        (patients,) = conn.execute(
            f"SELECT count(DISTINCT patient_ref) FROM studies WHERE study_uid IN ({marks})", uids).fetchone()
        rows = conn.execute(
            f"""SELECT se.modality, count(DISTINCT se.study_ref) AS n FROM series se
                JOIN studies st ON se.study_ref = st.id
                WHERE st.study_uid IN ({marks}) AND se.modality != ''
                GROUP BY se.modality ORDER BY n DESC, se.modality""", uids).fetchall()
    finally:
        conn.close()
    return patients, [modality for modality, _ in rows]
