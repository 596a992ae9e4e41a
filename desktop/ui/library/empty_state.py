"""What the window shows while the library holds no study: how to fill it, samples offered."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.ui.common.resources import app_icon


class EmptyStatePage(QWidget):
    """"Your library is empty", with buttons to import files, a folder, or the samples."""

    import_files_requested = Signal()
    import_folder_requested = Signal()
    samples_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("EmptyState")
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(QSize(96, 96)))
        icon.setFixedSize(96, 96)
        title = QLabel("Your library is empty", self)
        title.setObjectName("EmptyTitle")
        font = title.font()
        font.setPointSizeF(font.pointSizeF() * 1.9)
        font.setWeight(QFont.Weight.DemiBold)
        title.setFont(font)
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Explicit line breaks, not word wrap: wrapped labels report a size hint for a width
        # they do not get, and the page then squeezes them into the icon.
        body = QLabel(
            "Import DICOM files, folders, .zip archives or DICOMDIR media,\n"
            "or drop them anywhere on this window.", self)
        body.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.files_button = QPushButton("Import files…", self)
        self.files_button.setToolTip("Choose DICOM files, .zip archives or a DICOMDIR to import")
        self.files_button.clicked.connect(self.import_files_requested)
        self.folder_button = QPushButton("Import folder…", self)
        self.folder_button.setToolTip("Choose a folder; every DICOM file under it is imported")
        self.folder_button.clicked.connect(self.import_folder_requested)
        self.samples_button = QPushButton("Load sample studies", self)
        self.samples_button.setProperty("primary", True)
        self.samples_button.setDefault(True)
        self.samples_button.setToolTip(
            "Import the sample studies that ship with pydicom (anonymous test data)")
        self.samples_button.clicked.connect(self.samples_requested)
        for button in (self.files_button, self.folder_button, self.samples_button):
            button.setMinimumWidth(150)
            button.setMinimumHeight(34)

        offer = QLabel(
            "New to Veil? Load the sample studies to try it:\n"
            "about 140 anonymous test images (CT, MR, ultrasound, X-ray…) from pydicom.", self)
        offer.setObjectName("SamplesOffer")
        offer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        offer.setProperty("role", "muted")

        buttons = QHBoxLayout()
        buttons.setSpacing(12)
        buttons.addStretch(1)
        buttons.addWidget(self.files_button)
        buttons.addWidget(self.folder_button)
        buttons.addWidget(self.samples_button)
        buttons.addStretch(1)

        column = QVBoxLayout()
        column.setSpacing(14)
        column.addWidget(icon, 0, Qt.AlignmentFlag.AlignHCenter)
        column.addWidget(title)
        column.addWidget(body)
        column.addSpacing(8)
        column.addLayout(buttons)
        column.addSpacing(4)
        column.addWidget(offer)
        holder = QWidget(self)
        holder.setLayout(column)

        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(holder, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(3)
