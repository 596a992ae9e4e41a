"""Teaching cases: the case and its text, key images with the view they were marked at, and
the annotations drawn on them, as plain values (no Qt) with their validation and undo."""
