"""The consent domain's error: a record that is incomplete or contradictory, or a refused override."""

from __future__ import annotations

from desktop.core.common.errors import VeilError


class ConsentError(VeilError):
    """A consent record, export request or override is not acceptable; the message says why.

    Messages name fields in words and studies by their on-screen label, never by a patient
    name, ID or UID.
    """
