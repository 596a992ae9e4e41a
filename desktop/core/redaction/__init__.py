"""Pixel redaction: masks, their edits and undo history, and the exact burn-in. No Qt."""
