"""De-identification to DICOM PS3.15 Annex E, driven by the standard's own table (data)."""
