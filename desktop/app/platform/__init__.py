"""What differs between Linux, Windows and macOS, in small functions that can be tested on any of them.

- :mod:`~desktop.app.platform.associations`: the ``.veil`` document type, once, as each system
  registers it (the freedesktop MIME type, Windows' registry entries, macOS' ``Info.plist``);
- :mod:`~desktop.app.platform.paths`: the user data folder (the default Veil home), the site
  configuration file and the log folder of each system, as platformdirs computes them.

The keyring backends Veil trusts are a core question: :mod:`desktop.core.keys.keyring_choice`.
"""
