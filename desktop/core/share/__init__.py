"""Encrypted, signed share packages (``NAME.veil``): the format, with no Qt and no storage.

- :mod:`identity`: a user's age X25519 + Ed25519 identity and public key cards.
- :mod:`manifest`: ``manifest.json`` and its Ed25519 signature ``manifest.sig``.
- :mod:`sources`: what a package is made from (files on disk, sealed objects, any stream).
- :mod:`writer`: :func:`write_package`, streaming a DICOM file-set into an age file.
- :mod:`reader`: :func:`open_package`, verifying and extracting one.

The format is documented in ``docs/PACKAGE_FORMAT.md``.
"""
