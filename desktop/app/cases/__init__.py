"""Teaching cases: made from library studies, kept in the library, and out of Veil only
through the privacy gate (a PowerPoint deck, slide images of the key images)."""
