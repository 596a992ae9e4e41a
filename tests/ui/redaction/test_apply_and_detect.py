"""Apply and Detect built alone: Apply writes the right series and says what it wrote; Detect
lists what it found with the text it read, and accepting a proposal masks it in one step. The
use cases (OCR, writing the redacted images, reading the catalogue) are stood in for."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QMainWindow, QMessageBox

from desktop.app.browsing.catalogue import Catalogue, SeriesRow
from desktop.app.redaction.redacting import RedactionReport
from desktop.app.redaction.session import Here, RedactSession
from desktop.core.common.errors import Cancelled
from desktop.core.redaction.detect import Proposal
from desktop.core.redaction.mask import Scope
from desktop.ui.redaction import apply as apply_module
from desktop.ui.redaction import detect as detect_module
from desktop.ui.redaction.detect import Detection
from tests.ui.redaction.fakes import (
    LOAD_TIMEOUT_MS,
    SERIES_REF,
    STUDY_REF,
    FakeViewer,
    blank_images,
    drag,
    redact_alone,
    series_view,
)

LONG_TEXT = "SMITH^ANNA MARIA, born 1970-01-01, St Elsewhere General Hospital, Radiology"


def _row(redacted: int) -> SeriesRow:
    return SeriesRow(SERIES_REF, STUDY_REF, "1.2.3", 1, "CT", "", "", "", "", 3, 3, redacted_count=redacted)


# -- Apply ---------------------------------------------------------------------------------------

def test_apply_writes_the_series_drawn_on_and_shows_its_redacted_versions(qtbot, monkeypatch):
    viewer, mode, store = redact_alone(qtbot)
    drag(mode, [(0, 0), (80, 10)])
    calls = []

    def apply_series_masks(home, series_ref, progress, cancel):  # noqa: ANN001 - the use case's
        calls.append((home, series_ref, dict(store.saved)))
        progress(1, 1)
        return RedactionReport(images=1, written=1, frames=1, series_uid="1.2.3")

    monkeypatch.setattr(apply_module, "apply_series_masks", apply_series_masks)
    monkeypatch.setattr(apply_module, "load_catalogue", lambda home: Catalogue([], {STUDY_REF: [_row(1)]}))
    changed = []
    viewer.library_changed.connect(lambda: changed.append(True))

    mode.actions.apply.trigger()
    qtbot.waitUntil(lambda: not mode.active, timeout=LOAD_TIMEOUT_MS)
    (home, series_ref, saved), = calls
    assert home is viewer.home and series_ref == SERIES_REF
    assert list(saved.values()) == [mode.session.working_history.mask]  # saved before Apply read it
    assert mode.last_report is not None and mode.last_report.written == 1
    assert viewer.series_rows == [_row(1)] and changed == [True]  # the browser hears of it
    assert viewer.pane.opened_again[-1] == (SERIES_REF, "current", True)  # the new versions, read again
    message = viewer.statusBar().currentMessage()
    assert message.startswith("Redacted 1 frame in 1 of 1 image.")
    assert "Showing the redacted versions (1 of 3 images)" in message


class ApplyingMode:
    """Redact mode as Apply sees it (:class:`desktop.ui.redaction.host.ApplyHost`)."""

    def __init__(self, window: FakeViewer) -> None:
        self.main_window = window
        self.viewer = window
        self.session_ref: int | None = SERIES_REF
        self.session: RedactSession | None = RedactSession(blank_images(), {})
        self.active = True
        self.closed = 0
        self.applying: list[bool] = []
        self.reports: list[RedactionReport] = []
        self.left: list[bool] = []

    def close(self) -> None:
        self.closed += 1

    def leave(self, reload: bool = False) -> None:
        self.left.append(reload)

    def set_applying(self, running: bool) -> None:
        self.applying.append(running)

    def record_report(self, report: RedactionReport) -> None:
        self.reports.append(report)


def _applying(qtbot, monkeypatch, report: RedactionReport | Exception) -> tuple[FakeViewer, ApplyingMode]:  # noqa: ANN001
    window = FakeViewer()
    qtbot.addWidget(window)
    window.show()

    def apply_series_masks(home, series_ref, progress, cancel):  # noqa: ANN001 - the use case's
        if isinstance(report, Exception):
            raise report
        return report

    monkeypatch.setattr(apply_module, "apply_series_masks", apply_series_masks)
    monkeypatch.setattr(apply_module, "load_catalogue", lambda home: Catalogue([], {STUDY_REF: [_row(0)]}))
    mode = ApplyingMode(window)
    apply_module.apply_masks(mode)
    assert mode.closed == 1  # the masks drawn were written before Apply
    return window, mode


def test_a_cancelled_apply_says_nothing_was_written(qtbot, monkeypatch):
    window, mode = _applying(qtbot, monkeypatch, RedactionReport(images=2, cancelled=True))
    qtbot.waitUntil(lambda: mode.applying == [True, False], timeout=LOAD_TIMEOUT_MS)
    assert window.statusBar().currentMessage() == "Apply cancelled: nothing was written."
    assert len(mode.reports) == 1 and mode.left == [] and window.series_rows == []


def test_images_that_could_not_be_redacted_are_listed(qtbot, monkeypatch):
    failed = [(f"image {n}", "its pixels cannot be decoded") for n in range(1, 11)]
    window, mode = _applying(qtbot, monkeypatch, RedactionReport(images=12, written=2, frames=2, failed=failed))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "RedactFailures") is not None, timeout=LOAD_TIMEOUT_MS)
    box = window.findChild(QMessageBox, "RedactFailures")
    assert box.text().startswith("Redacted 2 frames in 2 of 12 images; 10 could not be redacted.")
    assert "image 1: its pixels cannot be decoded" in box.text() and "… and 2 more" in box.text()
    assert "image 9:" not in box.text()
    qtbot.waitUntil(lambda: mode.left == [True], timeout=LOAD_TIMEOUT_MS)  # then back to the series


def test_a_failed_apply_says_why(qtbot, monkeypatch):
    window, mode = _applying(qtbot, monkeypatch, OSError("disk full"))
    qtbot.waitUntil(lambda: window.findChild(QMessageBox, "ErrorBox") is not None, timeout=LOAD_TIMEOUT_MS)
    assert mode.applying == [True, False] and mode.reports == [] and window.statusBar().currentMessage() == ""


def test_nothing_is_applied_before_the_masks_are_read(qtbot, monkeypatch):
    window = FakeViewer()
    qtbot.addWidget(window)
    mode = ApplyingMode(window)
    mode.session = None
    calls = []
    monkeypatch.setattr(apply_module, "apply_series_masks", lambda *args: calls.append(args))
    apply_module.apply_masks(mode)
    assert calls == [] and mode.closed == 0 and mode.applying == []


# -- Detect --------------------------------------------------------------------------------------

class DetectingMode:
    """Redact mode as detection sees it (:class:`desktop.ui.redaction.host.DetectHost`)."""

    def __init__(self, window: QMainWindow, frames: int = 1) -> None:
        images = blank_images(2)
        images[0] = replace(images[0], number_of_frames=frames)
        self.main_window = window
        self.view = series_view(images)
        self.here: Here | None = Here(101, 0, 60, 80, frames)
        self.session: RedactSession | None = RedactSession(images, {})
        self.session.show(self.here)
        self.ready = True
        self.detecting: list[bool] = []
        self.went_to: list[int] = []
        self.changes = 0

    def go_to(self, number: int) -> None:
        self.went_to.append(number)

    def after_change(self) -> None:
        self.changes += 1

    def repaint(self) -> None:
        pass

    def set_detecting(self, running: bool) -> None:
        self.detecting.append(running)


def _detected(qtbot, monkeypatch, proposals: list[Proposal] | Exception,  # noqa: ANN001
              frames: int = 1) -> tuple[DetectingMode, Detection]:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.show()

    def read_text(series, position, count, cancel, progress):  # noqa: ANN001 - _detect's
        assert (series.series_ref, position, count) == (SERIES_REF, 0, frames)
        if isinstance(proposals, Exception):
            raise proposals
        return proposals

    monkeypatch.setattr(detect_module, "_detect", read_text)
    host = DetectingMode(window, frames)
    detection = Detection(host)
    detection.run()
    assert detection.running and host.detecting == [True]
    qtbot.waitUntil(lambda: not detection.running, timeout=LOAD_TIMEOUT_MS)
    assert host.detecting == [True, False]
    return host, detection


def test_detected_text_is_listed_with_what_was_read(qtbot, monkeypatch):
    host, detection = _detected(qtbot, monkeypatch, [
        Proposal(0, (5, 40, 75, 50), "text", "low", "Other text", text=LONG_TEXT),
        Proposal(0, (5, 2, 40, 12), "name", "high", "Matches the patient's name", text="SMITH^ANNA"),
    ])
    panel = detection.panel
    assert panel is not None and panel.isVisible() and panel.list.count() == 2
    high, low = panel.list.item(0), panel.list.item(1)
    assert high.text() == "High risk · name · top left, 35×10 px\n“SMITH^ANNA” — Matches the patient's name"
    assert low.text().startswith("Low risk · text · bottom centre, 70×10 px\n“SMITH^ANNA MARIA")
    assert "…”" in low.text() and LONG_TEXT not in low.text()  # shortened in the list,
    assert LONG_TEXT in low.toolTip()  # whole in the tooltip
    assert panel.summary.text().startswith("2 proposals (1 high risk, 0 covered by a mask already)")
    assert [g.risk for g in detection.proposals_here()] == ["high", "low"]
    assert host.session.working_history.mask.empty  # nothing hidden unseen

    panel.accept_high.click()
    mask = host.session.working_history.mask
    assert [s.bounds for s in mask.shapes] == [(5.0, 2.0, 40.0, 12.0)] and host.changes == 1
    assert panel.list.count() == 1 and not panel.accept_high.isEnabled()
    assert host.session.undo_label == "Accept proposal"

    panel.list.item(0).setSelected(True)
    panel.reject_button.click()
    assert panel.list.count() == 0 and panel.summary.text() == "No proposals left."
    assert len(host.session.working_history.mask.shapes) == 1  # rejecting hides nothing


def test_a_box_already_masked_is_marked_covered(qtbot, monkeypatch):
    host, detection = _detected(qtbot, monkeypatch, [
        Proposal(0, (5, 2, 40, 12), "id", "high", "Matches the patient ID", text="MRN-1")])
    host.session.add_rects({host.session.working: [(0.0, 0.0, 50.0, 20.0)]}, "Rectangle")
    detection.refresh()
    assert detection.panel.list.item(0).text().startswith("Covered · High risk · id")
    assert "1 covered by a mask already" in detection.panel.summary.text()


def test_proposals_on_a_cine_loop_cover_each_frame_they_were_found_on(qtbot, monkeypatch):
    host, detection = _detected(qtbot, monkeypatch, [
        Proposal(f, (5, 2, 40, 12), "date", "high", "Matches the study date", text="2024-01-01") for f in (1, 2)],
        frames=3)
    item = detection.panel.list.item(0)
    assert "frames 2–3" in item.text() and detection.proposals_here() == []  # not on frame 1
    item.setSelected(True)  # choosing it shows its first frame
    assert host.went_to == [1]
    host.session.move_to(Scope.FRAME)
    detection.accept(list(detection.groups))
    session = host.session
    frames = sorted(slot.frame for slot in session.histories if not session.history(slot).mask.empty)
    assert frames == [1, 2] and session.undo_label == "Accept proposal"  # one step for both frames


def test_no_text_found_is_said(qtbot, monkeypatch):
    _host, detection = _detected(qtbot, monkeypatch, [])
    assert detection.panel.summary.text() == "No text was found in this image."
    assert not detection.panel.accept_all.isEnabled()


def test_a_cancelled_detection_says_so(qtbot, monkeypatch):
    host, detection = _detected(qtbot, monkeypatch, Cancelled("stopped"))
    assert host.main_window.statusBar().currentMessage() == "Detection cancelled."
    assert detection.groups == [] and detection.panel is None
