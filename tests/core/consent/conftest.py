"""Factories for consent records: a complete written consent unless a test says otherwise."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from desktop.core.consent import Basis, ConsentRecord, Method, Purpose, Scope

PATIENT = "patient-key-7f3a"


def _defaults(basis: Basis) -> dict[str, Any]:
    common: dict[str, Any] = {"basis": basis, "scope": Scope(PATIENT), "purposes": frozenset({Purpose.TEACHING}),
                              "obtained_on": date(2024, 1, 10), "recorded_by": "R. Ward"}
    if basis is Basis.CONSENT:
        common |= {"method": Method.WRITTEN, "obtained_by": "Dr Ward"}
    elif basis is Basis.WAIVER:
        common |= {"waiver_reference": "IRB-2024-017", "committee": "Regional Ethics Board"}
    else:
        common |= {"policy": "Teaching file policy v3"}
    return common


@pytest.fixture
def consent() -> Callable[..., ConsentRecord]:
    """``consent(**fields)``: a valid written consent for teaching of the whole patient, changed."""
    return lambda **fields: ConsentRecord(**(_defaults(Basis.CONSENT) | fields))


@pytest.fixture
def waiver() -> Callable[..., ConsentRecord]:
    """``waiver(**fields)``: an ethics committee waiver for teaching of the whole patient, changed."""
    return lambda **fields: ConsentRecord(**(_defaults(Basis.WAIVER) | fields))


@pytest.fixture
def site_policy() -> Callable[..., ConsentRecord]:
    """``site_policy(**fields)``: "not required" under a site policy, for teaching, changed."""
    return lambda **fields: ConsentRecord(**(_defaults(Basis.NOT_REQUIRED) | fields))
