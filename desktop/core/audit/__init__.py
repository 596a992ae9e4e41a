"""The audit log: append-only JSON lines, each carrying the SHA-256 of the line before."""

from desktop.core.audit.log import AuditLog, Verification, verify_log

__all__ = ["AuditLog", "Verification", "verify_log"]
