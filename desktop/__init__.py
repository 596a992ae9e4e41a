"""Veil: share medical images without leaking the patient."""

__version__ = "0.1.0"
