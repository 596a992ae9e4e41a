"""Widgets, look and plumbing every window shares: theme, tables, errors, background work."""
