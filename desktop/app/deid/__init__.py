"""De-identification to DICOM PS3.15 Annex E: run, summarise, and check for leaks."""
