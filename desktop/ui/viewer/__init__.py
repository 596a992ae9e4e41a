"""The image viewer: one window per opened study, showing one series at a time."""
