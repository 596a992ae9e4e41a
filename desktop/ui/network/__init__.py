"""The DICOM network in the window: nodes (and, to come, the query panel)."""
