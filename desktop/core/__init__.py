"""Veil's domains: pure Python, numpy and pydicom. Nothing here imports Qt."""
