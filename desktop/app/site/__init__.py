"""Site defaults: what a hospital's IT presets for every user of a workstation (``site.json``)."""
