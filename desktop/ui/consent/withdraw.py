"""Withdrawing a consent (GDPR Art. 7(3)): ask the date and the reason, then show every disclosure that
relied on it, with its recipient, so the person can tell them to stop using the images."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import QDate, Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.app.common.formatting import plural
from desktop.app.consent.consenting import Withdrawal
from desktop.app.consent.reporting import disclosure_rows
from desktop.core.common.errors import VeilError
from desktop.core.consent import ConsentRecord, purposes_text, withdraw
from desktop.ui.consent.fields import date_edit, to_date
from desktop.ui.consent.report_dialog import content_height, copy_table, fit_widths, wrapped_table

#: The columns of the disclosure rows (desktop.app.consent.reporting.DISCLOSURE_COLUMNS) shown here.
SHOWN = ((0, "Date"), (1, "Purpose"), (2, "Recipient"), (3, "What was sent"), (6, "Where"), (5, "By"))
WEIGHTS = (1.2, 1.1, 1.6, 2.8, 2.0, 0.8)


def record_words(record: ConsentRecord) -> str:
    """ "consent for teaching and conference (obtained 2026-01-02)" """
    return (f"{record.basis.noun} for {purposes_text(record.purposes)} "
            f"(obtained {record.obtained_on.isoformat()})")


class WithdrawDialog(QDialog):
    """The date the withdrawal takes effect and its reason; checked as they are typed."""

    def __init__(self, record: ConsentRecord, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WithdrawDialog")
        self.setWindowTitle("Withdraw consent")
        self.record = record
        intro = QLabel(f"Withdraw the {record_words(record)}. From this date, no export may rely on it; "
                       "the record stays in the library, marked withdrawn.", self)
        intro.setWordWrap(True)
        intro.setTextFormat(Qt.TextFormat.PlainText)
        self.on = date_edit(self, "The day the withdrawal takes effect (usually today)")
        self.on.setObjectName("WithdrawOn")
        self.on.setMinimumDate(QDate(record.obtained_on.year, record.obtained_on.month, record.obtained_on.day))
        self.reason = QPlainTextEdit(self)
        self.reason.setObjectName("WithdrawReason")
        self.reason.setPlaceholderText("e.g. The patient asked by letter of 2026-11-20 that their images no longer "
                                       "be used for teaching")
        self.reason.setFixedHeight(self.reason.fontMetrics().lineSpacing() * 4 + 16)
        self.problem = QLabel(self)
        self.problem.setProperty("role", "warning")
        self.problem.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel,
                                        self)
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Withdraw")
        self.ok.setObjectName("ConfirmWithdraw")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow("Withdrawn on", self.on)
        form.addRow("Reason", self.reason)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.problem)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self.on.dateChanged.connect(self._validate)
        self.reason.textChanged.connect(self._validate)
        self._validate()
        self.resize(580, self.sizeHint().height())

    def day(self) -> date:
        return to_date(self.on.date())

    def reason_text(self) -> str:
        return self.reason.toPlainText().strip()

    def _validate(self) -> None:
        try:
            withdraw(self.record, self.day(), self.reason_text())
            problem = None
        except VeilError as exc:
            problem = str(exc)
        self.problem.setText(problem or "")
        self.problem.setVisible(problem is not None)
        self.ok.setEnabled(problem is None)


class WithdrawalDialog(QDialog):
    """What a withdrawal leaves to do: every disclosure that relied on the record."""

    def __init__(self, withdrawal: Withdrawal, study_labels: dict[str, str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("WithdrawalDialog")
        self.setWindowTitle("Consent withdrawn")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        record, relied = withdrawal.record, withdrawal.disclosures
        assert record.withdrawn_on is not None
        headline = QLabel(f"The {record_words(record)} is withdrawn from {record.withdrawn_on.isoformat()}. "
                          "Exports can no longer rely on it.", self)
        headline.setObjectName("WithdrawalHeadline")
        headline.setProperty("role", "section")
        headline.setWordWrap(True)
        headline.setTextFormat(Qt.TextFormat.PlainText)
        if relied:
            text = (f"{plural(len(relied), 'export')} relied on it before. Ask "
                    f"{'its recipient' if len(relied) == 1 else 'each recipient'} to stop using the images "
                    "and to delete them, and record what they answer.")
        else:
            text = "No export relied on it: nothing has left Veil under it."
        self.summary = QLabel(text, self)
        self.summary.setObjectName("WithdrawalSummary")
        self.summary.setProperty("role", "warning" if relied else "ok")
        self.summary.setWordWrap(True)
        rows = [disclosure_rows(d, study_labels, {record.id: record}) for d in relied]
        self.table = wrapped_table([title for _i, title in SHOWN], [[row[i] for i, _t in SHOWN] for row in rows],
                                   self, WEIGHTS)
        self.table.setObjectName("RelyingDisclosures")
        self.table.setVisible(bool(relied))
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        copy = QPushButton("Copy list", self)
        copy.setObjectName("CopyDisclosures")
        copy.setToolTip("Copy every export listed, tab-separated, to write to the recipients")
        copy.clicked.connect(lambda: copy_table(self.table))
        copy.setEnabled(bool(relied))
        buttons.addButton(copy, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(headline)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        if not relied:
            layout.addStretch(1)
        layout.addWidget(buttons)
        self.resize(1120, 200)
        if relied:
            fit_widths(self.table)
            self.table.setMinimumHeight(content_height(self.table, 380))
            self.resize(1120, self.sizeHint().height() + 10)
