"""The window's actions (menu items and shortcuts), with their tooltips, and its menus."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QStyle


@dataclass
class Actions:
    import_files: QAction
    import_folder: QAction
    load_samples: QAction
    open_study: QAction
    cancel_import: QAction
    deidentify: QAction
    export_package: QAction
    export_slides: QAction
    new_case: QAction
    teaching_cases: QAction
    network_nodes: QAction
    query_retrieve: QAction
    receive_images: QAction
    open_package: QAction
    key_card: QAction
    address_book: QAction
    record_consent: QAction
    consent_records: QAction
    disclosures: QAction
    audit_report: QAction
    breach_report: QAction
    quit: QAction
    find: QAction
    verify_audit: QAction
    about: QAction
    lock_now: QAction
    lock_settings: QAction

    @property
    def needing_library(self) -> list[QAction]:
        """Actions that make sense only once the library is open."""
        return [self.import_files, self.import_folder, self.load_samples, self.find, self.verify_audit,
                self.teaching_cases, self.network_nodes, self.query_retrieve, self.receive_images,
                self.audit_report, self.breach_report, self.open_package, self.key_card, self.address_book,
                self.lock_now, self.lock_settings]

    @property
    def needing_selection(self) -> list[QAction]:
        """Actions on the selected studies (or the selected study's patient)."""
        return [self.deidentify, self.export_package, self.export_slides, self.record_consent, self.consent_records,
                self.disclosures, self.new_case, self.open_study]


def _action(window: QMainWindow, text: str, tip: str, shortcut: QKeySequence | str | None = None,
            icon: QStyle.StandardPixmap | None = None) -> QAction:
    action = QAction(text, window)
    action.setToolTip(tip)
    action.setStatusTip(tip)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setToolTip(f"{tip} ({action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)})")
    if icon is not None:
        action.setIcon(window.style().standardIcon(icon))
    window.addAction(action)  # shortcuts work even where the menu bar is hidden
    return action


def create_actions(window: QMainWindow) -> Actions:
    sp = QStyle.StandardPixmap
    actions = Actions(
        import_files=_action(window, "Import &Files…", "Import DICOM files, .zip archives or a DICOMDIR",
                             "Ctrl+O", sp.SP_FileIcon),
        import_folder=_action(window, "Import F&older…", "Import every DICOM file under a folder",
                              "Ctrl+Shift+O", sp.SP_DirIcon),
        load_samples=_action(window, "Load &Sample Studies",
                             "Import the anonymous sample studies that ship with pydicom"),
        deidentify=_action(window, "&De-identify…", "Write copies of the selected studies without "
                           "the patient's identity (DICOM PS3.15 profiles), with a preview",
                           "Ctrl+Shift+D", sp.SP_DialogSaveButton),
        export_package=_action(window, "&Export Package…", "Send the selected studies to colleagues as an "
                               "encrypted, signed package (.veil): consent checked, de-identified or, for care, "
                               "identifiable", "Ctrl+Shift+E", sp.SP_DialogSaveButton),
        export_slides=_action(window, "Export &Slide Images…", "Write the selected studies as PNG or JPEG "
                              "images for slides or a journal: de-identified, redactions burned in, no metadata; "
                              "consent checked"),
        open_package=_action(window, "Open &Package…", "Verify a .veil package someone sent you and import its "
                             "images", "Ctrl+Shift+P", sp.SP_DialogOpenButton),
        key_card=_action(window, "My &Key Card…", "Your public key card and fingerprint, to give colleagues"),
        address_book=_action(window, "Address &Book…", "The colleagues you send packages to and receive them "
                             "from; verify their fingerprints"),
        record_consent=_action(window, "&Record Consent…", "Record the consent of the selected study's "
                               "patient (or an ethics committee waiver, or a site policy): purposes, how, "
                               "until when, limits, the scanned form", "Ctrl+Shift+K"),
        consent_records=_action(window, "Consent Re&cords…", "The consents, waivers and site policies of the "
                                "selected study's patient, their state today; withdraw one, view its form",
                                "Ctrl+Shift+L"),
        disclosures=_action(window, "&Accounting of Disclosures…", "Every export of the selected study's "
                            "patient's images: when, why, to whom, what, on which consent (CSV, PDF)"),
        audit_report=_action(window, "A&udit Report…", "Everything Veil did in a date range, from the audit "
                             "log, with patients named from the library (CSV, PDF)"),
        breach_report=_action(window, "Disclosures to a &Recipient or Package…", "When something went to the "
                              "wrong person: every patient, study and image sent to a recipient or in a package, "
                              "for a breach assessment (CSV, PDF)"),
        cancel_import=_action(window, "&Cancel Import", "Stop the running import; files already "
                              "imported stay", "Esc", sp.SP_DialogCancelButton),
        open_study=_action(window, "&Open Study", "Show the selected study in a viewer (also a double-click)",
                           "Return"),
        new_case=_action(window, "New &Teaching Case…", "Make a teaching case of the selected study: its "
                         "history, findings, diagnosis and key images (K in the viewer)", "Ctrl+Shift+N"),
        teaching_cases=_action(window, "Teaching &Cases…", "Every teaching case, searched by its text, "
                               "keywords and diagnosis, with its consent state", "Ctrl+Shift+T"),
        network_nodes=_action(window, "&Network Nodes…", "The PACS and archives Veil queries, retrieves from "
                              "and sends to; test each (C-ECHO); Veil's own AE title and storage port"),
        query_retrieve=_action(window, "&Query/Retrieve…", "Find studies on a PACS (patient, accession numbers, "
                               "dates, modality) and retrieve them into the library (C-GET or C-MOVE)",
                               "Ctrl+Shift+Q"),
        receive_images=_action(window, "&Receive Images from the Network", "Open Veil's storage port so that "
                               "the PACS can send images (C-STORE) into the library, until unticked or Veil "
                               "closes; Veil's AE title, port and allowed senders are in Network Nodes"),
        quit=_action(window, "&Quit", "Quit Veil", "Ctrl+Q"),  # StandardKey.Quit is empty on some desktops
        find=_action(window, "&Filter Studies", "Type to filter the studies shown",
                     "Ctrl+F"),
        verify_audit=_action(window, "&Verify Audit Log",
                             "Check that the audit log is complete and unaltered"),
        about=_action(window, "&About Veil", "Version and purpose of Veil"),
        lock_now=_action(window, "&Lock Now", "Hide every image, name and window of Veil until the "
                         "passphrase or your desktop keyring unlocks it; running work carries on",
                         "Ctrl+L"),
        lock_settings=_action(window, "Automatic &Lock…", "How many minutes without input before "
                              "Veil locks itself"),
    )
    # Ctrl+L locks from any Veil window (a viewer too), not just the main one.
    actions.lock_now.setShortcutContext(Qt.ShortcutContext.ApplicationShortcut)
    actions.receive_images.setCheckable(True)  # off at every start: a port opens only when asked
    actions.quit.setMenuRole(QAction.MenuRole.QuitRole)
    actions.about.setMenuRole(QAction.MenuRole.AboutRole)
    actions.cancel_import.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    actions.cancel_import.setEnabled(False)
    actions.open_study.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
    for action in actions.needing_selection:
        action.setEnabled(False)  # until a study is selected
    return actions


def build_menus(window: QMainWindow, actions: Actions) -> None:
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    file_menu.setToolTipsVisible(True)
    file_menu.addAction(actions.open_study)
    file_menu.addSeparator()
    file_menu.addActions([actions.import_files, actions.import_folder, actions.load_samples])
    file_menu.addSeparator()
    file_menu.addActions([actions.open_package, actions.export_package, actions.deidentify])
    file_menu.addSeparator()
    file_menu.addActions([actions.new_case, actions.teaching_cases])
    file_menu.addSeparator()
    file_menu.addActions([actions.query_retrieve, actions.receive_images, actions.network_nodes])
    file_menu.addSeparator()
    file_menu.addAction(actions.cancel_import)
    file_menu.addSeparator()
    file_menu.addAction(actions.lock_now)
    file_menu.addAction(actions.quit)
    edit_menu = bar.addMenu("&Edit")
    edit_menu.setToolTipsVisible(True)
    edit_menu.addAction(actions.find)
    share_menu = bar.addMenu("&Share")
    share_menu.setToolTipsVisible(True)
    share_menu.addActions([actions.export_package, actions.open_package, actions.export_slides])
    share_menu.addSeparator()
    share_menu.addActions([actions.key_card, actions.address_book])
    consent_menu = bar.addMenu("&Consent")
    consent_menu.setToolTipsVisible(True)
    consent_menu.addActions([actions.record_consent, actions.consent_records])
    consent_menu.addSeparator()
    consent_menu.addActions([actions.disclosures, actions.breach_report, actions.audit_report])
    tools_menu = bar.addMenu("&Tools")
    tools_menu.setToolTipsVisible(True)
    tools_menu.addAction(actions.verify_audit)
    tools_menu.addAction(actions.lock_settings)
    help_menu = bar.addMenu("&Help")
    help_menu.setToolTipsVisible(True)
    help_menu.addAction(actions.about)
