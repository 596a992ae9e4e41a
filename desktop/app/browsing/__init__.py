"""What the study browser and veil ls show: the studies, numbered, with their series, counts and consent badges."""
