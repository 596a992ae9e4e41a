"""The study library: open a home, import into it, browse it, check it, load samples."""
