"""The library window's parts: study browser, import progress and report, empty state."""
