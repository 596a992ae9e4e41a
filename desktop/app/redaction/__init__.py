"""Pixel redaction: masks being edited, burned into redacted versions, text detection."""
