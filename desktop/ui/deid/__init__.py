"""The De-identify dialog: profile, preview, export and its report."""
