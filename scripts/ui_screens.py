"""Screenshots of Veil's windows, to show a refactor left the UI as it was.

    python scripts/ui_screens.py shoot OUTDIR
    python scripts/ui_screens.py compare BEFORE_DIR AFTER_DIR [--tolerance PERCENT]

``shoot`` makes a fresh library in a temporary VEIL_HOME (its passphrase from a file named by
VEIL_PASSPHRASE_FILE, no keyring: PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring), imports
four pydicom test files (a CT, an MR, a 30-frame ultrasound, an RGB secondary capture), records
one site-wide teaching policy, opens the real windows through the app's public constructors and
menu actions, and saves each with ``QWidget.grab()`` at a fixed size. Query/Retrieve searches a
real Orthanc (tests/orthanc.py, loaded with the same four files) when one is installed, else
shows a node that refuses. It runs under
QT_QPA_PLATFORM=offscreen (the default here) or any display such as Xvfb.

What is fixed so two runs give the same pixels:
  * window sizes (SIZES), the font (DejaVu Sans 10 pt when installed), 96 dpi, no high-DPI scaling;
  * text cursors do not blink (cursor flash time 0), the status bar's passing message is cleared;
  * dates a dialog proposes from the clock: every QDateEdit is moved to FIXED_DAY, keeping its
    distance from today (today + 5 years becomes FIXED_DAY + 5 years), and today's date in a line
    edit or label (the proposed output folders) reads FIXED_DAY;
  * the temporary folder and the user's home folder in a line edit or label read
    /tmp/veil-shots and /home/veil;
  * painted flat grey: in any table with "Result" and "Action" columns (the De-identify preview),
    the Result cell of each row whose Action is Replaced or Shifted: new UIDs and shifted dates are
    keyed by the library's own random secret, so they differ between two fresh libraries; and any
    fixed region listed in BLANK (none today).
Each window is grabbed once the background tasks have been quiet for QUIET_S seconds. Compare
shots taken on the same platform: offscreen and Xvfb differ in window activation (a focused
field's frame and cursor) and in the About box's size, though each repeats itself exactly.

``compare`` pairs the PNGs of BEFORE_DIR and AFTER_DIR by name, prints identical or the share of
differing pixels, writes AFTER_DIR/diffs/NAME.png (differing pixels magenta over the dimmed
after-image) and exits 1 if a shot is missing or differs by more than --tolerance percent.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's desktop package, not an installed one
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.update(PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring", QT_FONT_DPI="96",
                  QT_SCALE_FACTOR="1", QT_ENABLE_HIGHDPI_SCALING="0",
                  USER="veil", LOGNAME="veil")  # "Recorded by veil" whoever runs it

# The imports below come after the sys.path insert (this checkout's desktop package) and the
# environment above (offscreen Qt, fixed dpi, no keyring), hence their `noqa: E402`.
from PySide6.QtCore import QCoreApplication, QDate, QEvent, QPointF, QRect, Qt, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QColor, QFont, QFontDatabase, QMouseEvent, QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication, QDateEdit, QLabel, QLineEdit, QMainWindow, QTableView, QWidget  # noqa: E402

from desktop.app.cases import casebook  # noqa: E402
from desktop.app.consent.consenting import add_consent  # noqa: E402
from desktop.app.library.home import VeilHome  # noqa: E402
from desktop.app.library.importing import import_paths  # noqa: E402
from desktop.app.network.nodes import save_node  # noqa: E402
from desktop.core.cases.annotations import Kind  # noqa: E402
from desktop.core.cases.case import KeyView  # noqa: E402
from desktop.core.consent import EVERY_PATIENT, Basis, ConsentRecord, Purpose, Scope  # noqa: E402
from desktop.core.network.nodes import DicomNode  # noqa: E402

# -- every desktop.ui module the script uses, in this one place: update it when modules move --
from desktop.ui.common import background  # noqa: E402
from desktop.ui.common.about_dialog import show_about  # noqa: E402
from desktop.ui.keys.passphrase_dialog import PassphraseDialog  # noqa: E402
from desktop.ui.launch import application  # noqa: E402
from desktop.ui.main_window import MainWindow  # noqa: E402
from desktop.ui.share.open_package_dialog import OpenPackageDialog  # noqa: E402

FILES = ("CT_small.dcm", "MR_small.dcm", "examples_ybr_color.dcm", "SC_rgb_small_odd.dcm")
FIXED_DAY = date(2020, 1, 1)  # the day of the site policy the script records
FIXED_TMP, FIXED_HOME = "/tmp/veil-shots", "/home/veil"
PACKAGE = Path(FIXED_HOME) / "Veil exports" / "package.veil"  # Open Package's file (never read)
QUIET_S = 0.8
TIMEOUT_S = 90.0
FONT = ("DejaVu Sans", 10)
SIZES: dict[str, tuple[int, int]] = {
    "01_main_window": (1280, 800), "02_viewer_ct": (1280, 860), "03_viewer_redact": (1280, 860),
    "04_share_what_leaves": (1060, 760), "05_share_recipients": (1060, 760), "06_deidentify": (1440, 860),
    "07_record_consent": (1080, 860), "08_consent_records": (1320, 560), "09_open_package": (760, 330),
    "10_export_slides": (720, 780), "11_passphrase": (520, 320), "12_about": (0, 0),  # 0: its own size
    "13_case_editor": (1100, 760), "14_annotate": (900, 820), "15_case_export": (820, 480),
    "16_teaching_cases": (1000, 520), "17_query_retrieve": (1100, 720),
}
#: Regions painted flat grey before saving, as shot name -> (x, y, width, height): none needed yet.
BLANK: dict[str, list[tuple[int, int, int, int]]] = {}
#: In a table with these columns, the first is blanked on the rows whose second reads one of these.
KEYED_CELLS = ("Result", "Action", {"Replaced", "Shifted"})
GREY = QColor(128, 128, 128)


# -- shoot ---------------------------------------------------------------------------------------
def settle(app: QApplication, until: Callable[[], bool] = lambda: True, what: str = "the window") -> None:
    """Run the event loop until ``until()`` holds and no background task ran for QUIET_S."""
    deadline, quiet_since = time.monotonic() + TIMEOUT_S, None
    while time.monotonic() < deadline:
        app.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if until() and background.pending() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since >= QUIET_S:
                return
        else:
            quiet_since = None
        time.sleep(0.01)
    raise SystemExit(f"ui_screens: timed out waiting for {what}")


class Shooter:
    """Grabs windows into ``out`` with the variable parts made fixed."""

    def __init__(self, app: QApplication, out: Path, tmp: Path) -> None:
        self.app, self.out = app, out
        today = date.today()
        self.swaps = [(str(tmp.resolve()), FIXED_TMP), (str(tmp), FIXED_TMP), (str(Path.home()), FIXED_HOME),
                      (today.isoformat(), FIXED_DAY.isoformat())]
        self.today = QDate(today.year, today.month, today.day)
        self.names: list[str] = []
        self.tmp = tmp

    def _swap(self, text: str) -> str:
        for old, new in self.swaps:
            text = text.replace(old, new)
        return text

    def normalise(self, root: QWidget) -> None:
        """The clock's dates, the temporary and home folders: fixed values (see the module doc)."""
        fixed = QDate(FIXED_DAY.year, FIXED_DAY.month, FIXED_DAY.day)
        moves = []  # all read before any is set: one date edit may follow another
        for edit in root.findChildren(QDateEdit):
            shown = edit.date()
            if edit.property("ui_screens_fixed"):
                continue
            same_day = (shown.month(), shown.day()) == (self.today.month(), self.today.day())
            moves.append((edit, fixed.addYears(shown.year() - self.today.year()) if same_day
                          else fixed.addDays(self.today.daysTo(shown))))
        for edit, day in moves:
            edit.setDate(day)
            edit.setProperty("ui_screens_fixed", True)
        for edit in root.findChildren(QLineEdit):
            if edit.echoMode() == QLineEdit.EchoMode.Normal and self._swap(edit.text()) != edit.text():
                edit.setText(self._swap(edit.text()))
        for label in root.findChildren(QLabel):
            if self._swap(label.text()) != label.text():
                label.setText(self._swap(label.text()))

    def grab(self, name: str, widget: QWidget) -> None:
        width, height = SIZES[name]
        if width:
            widget.resize(width, height)
        widget.raise_()
        widget.activateWindow()
        settle(self.app, what=name)
        self.normalise(widget)
        if isinstance(widget, QMainWindow):
            widget.statusBar().clearMessage()
        settle(self.app, what=name)
        image = widget.grab().toImage()
        painter = QPainter(image)
        for rect in [QRect(*r) for r in BLANK.get(name, [])] + keyed_cells(widget):
            painter.fillRect(rect, GREY)
        painter.end()
        if not image.save(str(self.out / f"{name}.png")):
            raise SystemExit(f"ui_screens: cannot write {name}.png")
        self.names.append(name)
        print(f"  {name}.png  {image.width()}x{image.height()}")

    def shoot_and_close(self, name: str, widget: QWidget | None, until: Callable[[], bool] = lambda: True) -> None:
        if widget is None:
            raise SystemExit(f"ui_screens: {name}: the window did not open")
        settle(self.app, until, name)
        self.grab(name, widget)
        widget.close()
        settle(self.app, what=f"{name} to close")


def keyed_cells(root: QWidget) -> list[QRect]:
    """Where ``root`` shows values keyed by the library's secret (see KEYED_CELLS), in its coordinates."""
    blank_column, key_column, keyed = KEYED_CELLS
    rects = []
    for view in root.findChildren(QTableView):
        model, port = view.model(), view.viewport()
        if model is None or not view.isVisibleTo(root):
            continue
        headers = [model.headerData(c, Qt.Orientation.Horizontal) for c in range(model.columnCount())]
        if blank_column not in headers or key_column not in headers:
            continue
        blank, key = headers.index(blank_column), headers.index(key_column)
        for row in range(model.rowCount()):
            cell = view.visualRect(model.index(row, blank)).intersected(port.rect())
            if not cell.isEmpty() and model.index(row, key).data() in keyed:
                rects.append(QRect(port.mapTo(root, cell.topLeft()), cell.size()))
    return rects


def make_home(tmp: Path) -> VeilHome:
    """A new library with FILES imported and a site-wide teaching policy (allows the wizard on)."""
    import pydicom

    passfile = tmp / "passphrase"
    passfile.write_text("correct horse battery staple\n")
    os.environ.update(VEIL_HOME=str(tmp / "home"), VEIL_PASSPHRASE_FILE=str(passfile))
    incoming = tmp / "incoming"
    for name in FILES:
        (incoming / name.split(".")[0]).mkdir(parents=True)
        shutil.copy(Path(pydicom.__file__).parent / "data" / "test_files" / name, incoming / name.split(".")[0])
    home = VeilHome.open(tmp / "home")
    import_paths(home, [incoming])
    add_consent(home, ConsentRecord(basis=Basis.NOT_REQUIRED, scope=Scope(EVERY_PATIENT),
                                    purposes=frozenset({Purpose.TEACHING}), obtained_on=FIXED_DAY,
                                    recorded_by="ui_screens", policy="Teaching files, de-identified"))
    return home


def select_ct(window: MainWindow):
    """Select the CT study's row in the study browser, as a click does."""
    browser = window.browser
    for row in range(browser.proxy.rowCount()):
        study = browser.study_model.row_at(browser.proxy.mapToSource(browser.proxy.index(row, 0)).row())
        if "CT" in study.modalities:
            browser.studies_view.selectRow(row)
            return study
    raise SystemExit("ui_screens: the CT study was not imported")


def draw_rectangle(viewer, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag with the left button from image point ``start`` to ``end`` (as tests/ui/viewer/test_redact_mode.py)."""
    vp, t, left, none = viewer.viewport, QMouseEvent.Type, Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    to_view = viewer.redact.canvas.transform()
    a, b = to_view.map(QPointF(*start)), to_view.map(QPointF(*end))
    middle = (a + b) / 2
    for kind, pos, button, buttons in ((t.MouseButtonPress, a, left, left), (t.MouseMove, middle, none, left),
                                       (t.MouseMove, b, none, left), (t.MouseButtonRelease, b, left, none)):
        QApplication.sendEvent(vp, QMouseEvent(kind, pos, vp.mapToGlobal(pos), button, buttons,
                                               Qt.KeyboardModifier.NoModifier))


def next_page(wizard, app: QApplication, title: str) -> None:
    if not wizard.next_button.isEnabled():
        raise SystemExit(f"ui_screens: the wizard cannot go on to {title}: {wizard.problem_label.text()}")
    wizard.next_button.click()
    settle(app, lambda: wizard.title.text() == title and not wizard.consent_pending, title)


def shoot(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="veil-shots-"))
    app = application(["veil"])
    previous = qInstallMessageHandler(lambda kind, context, text: None if "This plugin does not support" in text
                                      else previous(kind, context, text) if previous else print(text, file=sys.stderr))
    app.setCursorFlashTime(0)
    if FONT[0] in QFontDatabase.families():
        app.setFont(QFont(*FONT))
    try:
        home = make_home(tmp)
        return shoot_windows(app, Shooter(app, out, tmp), home)
    finally:
        background.wait_for_all()
        shutil.rmtree(tmp, ignore_errors=True)


def shoot_windows(app: QApplication, s: Shooter, home: VeilHome) -> int:
    print(f"Shooting into {s.out}")
    window = MainWindow(home.path)
    window.show()
    window.set_home(home)
    settle(app, lambda: window.catalogue is not None, "the catalogue")
    ct = select_ct(window)
    s.grab("01_main_window", window)
    a = window.commands

    a.export_package.trigger()
    wizard = window.share.wizard
    settle(app, lambda: wizard.selection_page.loaded and not wizard.consent_pending
           and wizard.redaction_page.flagged is not None, "the wizard's checks")
    s.grab("04_share_what_leaves", wizard)
    for title in ("Purpose and consent", "De-identification", "Redaction review", "Recipients"):
        next_page(wizard, app, title)
    page = wizard.recipients_page
    settle(app, lambda: page.empty.isVisible() or bool(page.contacts), "the address book")
    s.shoot_and_close("05_share_recipients", wizard)

    a.deidentify.trigger()
    s.shoot_and_close("06_deidentify", window.deid_dialog)
    a.record_consent.trigger()
    dialog = window.consent.record_dialog
    s.shoot_and_close("07_record_consent", dialog, lambda: dialog.patient is not None)
    a.consent_records.trigger()
    dialog = window.consent.records_dialog
    s.shoot_and_close("08_consent_records", dialog, lambda: dialog.patient is not None)
    opener = OpenPackageDialog(home, PACKAGE, window)  # not started: the dialog as it opens
    opener.show()
    s.shoot_and_close("09_open_package", opener)
    a.export_slides.trigger()
    s.shoot_and_close("10_export_slides", window.share.slides_dialog)
    passphrase = PassphraseDialog(creating=True)
    passphrase.show()
    s.shoot_and_close("11_passphrase", passphrase)
    s.shoot_and_close("12_about", show_about(window))
    shoot_case(app, s, window, home, ct.study_uid)
    shoot_query(app, s, window, home, s.tmp / "incoming")

    # the viewer last: its mask is saved in the library
    viewer = window.open_viewer(ct)
    settle(app, lambda: viewer is not None and viewer.view is not None, "the viewer")
    s.grab("02_viewer_ct", viewer)
    viewer.redact.actions.redact.trigger()
    settle(app, lambda: viewer.redact.ready, "redact mode")
    draw_rectangle(viewer, (10, 20), (50, 40))
    settle(app, lambda: viewer.redact.saver.idle, "the mask to be saved")
    if len(viewer.redact.session.working_history.mask.shapes) != 1:
        raise SystemExit("ui_screens: the rectangle was not drawn")
    s.grab("03_viewer_redact", viewer)
    viewer.close()
    window.close()
    settle(app, what="the windows to close")
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    print(f"{len(s.names)} shots: {', '.join(sorted(s.names))}")
    return 0


def shoot_case(app: QApplication, s: Shooter, window: MainWindow, home: VeilHome, study_uid: str) -> None:
    """A teaching case of the CT with one annotated key image: its editor, the Annotate window,
    the export dialog and the Teaching Cases list."""
    conn = home.connect()
    try:
        sop = conn.execute("""SELECT i.sop_instance_uid FROM instances i JOIN series se ON i.series_ref = se.id
                              JOIN studies st ON se.study_ref = st.id WHERE st.study_uid = ?""",
                           (study_uid,)).fetchone()[0]
    finally:
        conn.close()
    case = casebook.mark(home, casebook.new_case(home, [study_uid], "Hepatic cyst", author="A. Reader"), sop, 0,
                         KeyView(40, 400)).with_fields(history="Incidental finding", diagnosis="Simple cyst")
    marks = case.key_images[0].annotations.add(Kind.ARROW, [(20, 100), (60, 60)], "Cyst")
    marks = marks.add(Kind.LINE, [(70, 30), (110, 30)]).add(Kind.ROI, [(70, 70), (100, 100)])
    case_id = casebook.save(home, case.with_annotations(0, marks).with_caption(0, "Portal venous phase"))
    editor = window.cases.open_case(case_id)
    if editor is None:
        raise SystemExit("ui_screens: the case editor did not open")
    editor.key_list.setCurrentRow(0)
    settle(app, lambda: not editor.key_list.item(0).icon().isNull(), "the key image's thumbnail")
    s.grab("13_case_editor", editor)
    annotate = editor.annotate_current()
    s.shoot_and_close("14_annotate", annotate, lambda: annotate is not None and annotate.canvas.picture is not None)
    s.shoot_and_close("15_case_export", window.cases.export_cases([case_id], [case.title]))
    editor.close()
    s.shoot_and_close("16_teaching_cases", window.cases.show_cases())


def shoot_query(app: QApplication, s: Shooter, window: MainWindow, home: VeilHome, incoming: Path) -> None:
    """Query/Retrieve: the four studies found on a real Orthanc (tests/orthanc.py, loaded with the
    same files), the CT expanded to its series and chosen; without Orthanc, a node that refuses."""
    from tests.orthanc import ORTHANC, running_orthanc

    with contextlib.ExitStack() as stack:
        if ORTHANC is not None:
            orthanc = stack.enter_context(running_orthanc(s.tmp / "orthanc", {"veil": ("VEIL", 11112)}))
            for path in sorted(incoming.rglob("*.dcm")):
                orthanc.upload(path)
            save_node(home, DicomNode("Hospital PACS", orthanc.aet, "127.0.0.1", orthanc.dicom_port))
        else:
            save_node(home, DicomNode("Hospital PACS", "ORTHANC", "127.0.0.1", 9))  # nothing listens on port 9
        window.commands.query_retrieve.trigger()
        panel = window.network.query_panel
        if panel is None:
            raise SystemExit("ui_screens: the Query/Retrieve panel did not open")
        panel.resize(*SIZES["17_query_retrieve"])
        panel.search()
        settle(app, lambda: not panel.busy, "the search")
        if ORTHANC is not None:
            ct = next((r for r in range(panel.model.rowCount()) if panel.model.index(r, 4).data() == "CT"), None)
            if ct is None:
                raise SystemExit(f"ui_screens: the search found no CT: {panel.status.text()}")
            panel.tree.setCurrentIndex(panel.model.index(ct, 0))
            panel.tree.expand(panel.model.index(ct, 0))
            settle(app, lambda: panel.model.state_of(panel.model.index(ct, 0)) == "known", "the CT's series")
        s.shoot_and_close("17_query_retrieve", panel)


# -- compare -------------------------------------------------------------------------------------
def compare(before: Path, after: Path, tolerance: float) -> int:
    """Print each shot's verdict; 1 if any is missing or differs by more than ``tolerance`` percent."""
    from PIL import Image, ImageChops

    names = sorted(p.name for p in before.glob("*.png"))
    if not names:
        print(f"No PNG in {before}")
        return 1
    diffs, failed = after / "diffs", 0
    for name in names:
        if not (after / name).is_file():
            print(f"MISSING    {name}")
            failed += 1
            continue
        a = Image.open(before / name).convert("RGB")
        b = Image.open(after / name).convert("RGB")
        if a.size != b.size:
            print(f"SIZE       {name}: {a.size[0]}x{a.size[1]} before, {b.size[0]}x{b.size[1]} after")
            failed += 1
            continue
        r, g, bl = ImageChops.difference(a, b).split()
        changed = ImageChops.lighter(ImageChops.lighter(r, g), bl).point(lambda v: 255 if v else 0)
        count = changed.histogram()[255]
        if not count:
            (diffs / name).unlink(missing_ok=True)  # a diff of an earlier compare
            print(f"identical  {name}")
            continue
        share = 100.0 * count / (a.size[0] * a.size[1])
        over = share > tolerance
        failed += over
        diffs.mkdir(exist_ok=True)
        dimmed = Image.blend(Image.new("RGB", b.size), b, 0.35)
        Image.composite(Image.new("RGB", b.size, (255, 0, 255)), dimmed, changed).save(diffs / name)
        print(f"{'DIFFERS' if over else 'within'}    {name}: {share:.4f}% of pixels ({count}), diff in {diffs / name}")
    for extra in sorted({p.name for p in after.glob("*.png")} - set(names)):
        print(f"new        {extra} (not in {before})")
    print(f"{len(names) - failed} of {len(names)} shots within {tolerance}%")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("shoot", help="grab the windows into OUTDIR").add_argument("outdir", type=Path)
    cmp = commands.add_parser("compare", help="compare two shoot folders")
    cmp.add_argument("before", type=Path)
    cmp.add_argument("after", type=Path)
    cmp.add_argument("--tolerance", type=float, default=0.0, help="percent of pixels allowed to differ (0)")
    args = parser.parse_args(argv)
    if args.command == "shoot":
        return shoot(args.outdir)
    return compare(args.before, args.after, args.tolerance)


if __name__ == "__main__":
    raise SystemExit(main())
