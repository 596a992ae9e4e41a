"""The Consent column of the study table: the badge, its colour and tooltip, sorting, filtering."""

from __future__ import annotations

from PySide6.QtCore import Qt

from desktop.core.consent import ConsentStatus, StudyBadge
from desktop.ui.common import theme
from desktop.ui.library.study_model import StudyFilterProxy, StudyTableModel
from tests.ui.library.test_study_model import study

BADGES = {
    "1.2.1": StudyBadge(ConsentStatus.WITHDRAWN, "Consent for teaching withdrawn on 2026-01-02"),
    "1.2.2": StudyBadge(ConsentStatus.VALID, "Consent for teaching"),
    "1.2.3": StudyBadge(ConsentStatus.PARTIAL, "Covers 1 of 2 series only: Consent for teaching"),
    "1.2.4": StudyBadge(ConsentStatus.EXPIRED, "Consent for teaching expired on 2025-01-01"),
}


def make_proxy() -> StudyFilterProxy:
    model = StudyTableModel()
    model.set_rows([study(n, f"P{n}^X", "20200101", 1) for n in range(1, 6)], BADGES)
    proxy = StudyFilterProxy()
    proxy.setSourceModel(model)
    proxy._model = model
    return proxy


def shown(proxy: StudyFilterProxy, role=Qt.ItemDataRole.DisplayRole) -> list:
    return [proxy.index(r, StudyTableModel.CONSENT).data(role) for r in range(proxy.rowCount())]


def test_each_badge_reads_with_a_sign_a_colour_and_its_tooltip(qtbot):
    proxy = make_proxy()
    assert proxy.headerData(StudyTableModel.CONSENT, Qt.Orientation.Horizontal) == "Consent"
    assert shown(proxy) == ["✗ Consent withdrawn", "✓ Consent", "◐ Partial consent", "◷ Consent expired",
                            "– No consent"]
    colours = [c.name() for c in shown(proxy, Qt.ItemDataRole.ForegroundRole)]
    assert colours == [theme.DANGER, theme.OK, theme.WARNING, "#b59a6e", theme.MUTED]
    assert shown(proxy, Qt.ItemDataRole.ToolTipRole)[2] == "Covers 1 of 2 series only: Consent for teaching"
    assert shown(proxy, Qt.ItemDataRole.ToolTipRole)[4] == "No consent recorded for this study"


def test_sorting_by_consent_puts_what_can_be_used_today_first(qtbot):
    proxy = make_proxy()
    proxy.sort(StudyTableModel.CONSENT, Qt.SortOrder.AscendingOrder)
    assert shown(proxy) == ["✓ Consent", "◐ Partial consent", "◷ Consent expired", "✗ Consent withdrawn",
                            "– No consent"]


def test_the_filter_finds_studies_by_their_badge(qtbot):
    proxy = make_proxy()
    proxy.set_filter_text("withdrawn")
    assert shown(proxy) == ["✗ Consent withdrawn"]
    proxy.set_filter_text("partial")
    assert shown(proxy) == ["◐ Partial consent"]
