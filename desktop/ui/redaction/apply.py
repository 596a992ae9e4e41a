"""Apply: burn the series' masks into redacted versions of its images, in the background with
progress and Cancel; then leave Redact mode and show the series again on its current versions.

The redacted versions belong to the same series and replace their originals (which the library
keeps untouched): the browser counts them, the viewer opens them by default and every export
sends them. An image whose masks were all removed gets its original back as its current version.
Apply sees Redact mode through :class:`~desktop.ui.redaction.host.ApplyHost`.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QProgressDialog, QWidget

from desktop.app.browsing.catalogue import Catalogue, load_catalogue
from desktop.app.common.tasks import CancelToken
from desktop.app.redaction.redacting import RedactionReport, apply_series_masks
from desktop.ui.common.background import run_in_background
from desktop.ui.common.errors import show_error
from desktop.ui.redaction.host import ApplyHost

#: Failures listed in the report box (the rest are counted).
FAILURES_SHOWN = 8


def apply_masks(mode: ApplyHost) -> None:
    """Write the redacted versions of the series' images in the background."""
    window, series_ref = mode.main_window, mode.session_ref
    if series_ref is None or mode.session is None:
        return
    mode.close()  # every step drawn is in the library before Apply reads it
    home, cancel = mode.viewer.home, CancelToken()
    dialog = QProgressDialog("Writing the redacted images…", "Cancel", 0, 0, window)
    dialog.setObjectName("RedactProgress")
    dialog.setWindowTitle("Apply masks")
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.setMinimumDuration(300)
    dialog.setAutoClose(False)
    dialog.setAutoReset(False)
    # A lambda, not the bound method: PySide would watch the token with a weak reference and
    # disconnect from whichever thread frees it last (the worker's), deadlocking with the UI.
    dialog.canceled.connect(lambda: cancel.cancel())
    mode.set_applying(True)
    window.statusBar().showMessage("Writing the redacted images…")

    def progressed(done: int, total: int) -> None:
        dialog.setMaximum(total)
        dialog.setValue(done)
        dialog.setLabelText(f"Writing the redacted images… {done} of {total}")

    def finished(report: RedactionReport) -> None:
        dialog.close()
        mode.set_applying(False)
        mode.record_report(report)
        if report.cancelled:
            window.statusBar().showMessage("Apply cancelled: nothing was written.", 8000)
            return
        window.statusBar().showMessage(report.headline(), 10000)
        if report.failed:
            _report_failures(window, report)
        show_redacted_versions(mode, series_ref, report.headline())

    def failed(exc: BaseException) -> None:
        dialog.close()
        mode.set_applying(False)
        window.statusBar().clearMessage()
        show_error(window, exc, "Cannot apply the masks")

    run_in_background(lambda progress: apply_series_masks(home, series_ref, progress, cancel), finished,
                      failed, progressed, key=f"redact-apply-{id(window)}", context=window)


def _report_failures(parent: QWidget, report: RedactionReport) -> None:
    lines = [f"{who}: {why}" for who, why in report.failed[:FAILURES_SHOWN]]
    if len(report.failed) > FAILURES_SHOWN:
        lines.append(f"… and {len(report.failed) - FAILURES_SHOWN} more")
    box = QMessageBox(QMessageBox.Icon.Warning, "Some images were not redacted",
                      report.headline() + "\n\n" + "\n".join(lines), QMessageBox.StandardButton.Ok, parent)
    box.setObjectName("RedactFailures")
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.open()


def show_redacted_versions(mode: ApplyHost, series_ref: int, headline: str = "") -> None:
    """Reload the study's series (their redacted counts changed), leave Redact mode and show
    ``series_ref`` again on its current versions: the redacted ones just written."""
    window, viewer = mode.main_window, mode.viewer
    home, study_ref = viewer.home, viewer.study.study_ref

    def loaded(catalogue: Catalogue) -> None:
        rows = catalogue.series_by_study.get(study_ref, [])
        viewer.set_series_rows(rows)
        viewer.library_changed.emit()
        target = next((r for r in rows if r.series_ref == series_ref), None)
        if target is None:
            return
        if mode.active:
            mode.leave(reload=True)  # shows the pane's series on its current versions, read again
        elif viewer.current_ref == series_ref:
            viewer.pane.show_series(series_ref, "current", reload=True)
        if viewer.current_ref != series_ref:
            viewer.show_series(series_ref)
        if headline:  # again: leaving Redact mode hid the toolbar under the mouse, which clears it
            redacted = target.redacted_count
            shown = (f"Showing the redacted versions ({redacted:,} of {target.image_count:,} images); the "
                     "originals stay in the library (View ▸ Show Original)." if redacted
                     else "No image of this series is redacted now: showing the originals.")
            window.statusBar().showMessage(f"{headline} {shown}", 15000)

    def failed(exc: BaseException) -> None:
        show_error(window, exc)

    run_in_background(lambda _progress: load_catalogue(home), loaded, failed,
                      key=f"redact-series-{id(window)}", context=window)
