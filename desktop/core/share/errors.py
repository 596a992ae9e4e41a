"""Errors of the share package format.

Every message is for the person opening or writing a package: what went wrong and what to do.
None carries a patient identifier; where a file must be named, it is its path inside the
package (``DICOM/D000/IM000003``), which Veil chooses and which says nothing about the patient.
"""

from __future__ import annotations

from desktop.core.common.errors import VeilError


class PackageError(VeilError):
    """A share package cannot be written or opened."""


class CardError(PackageError):
    """A public key card or an identity is malformed."""


class NotAddressedToYouError(PackageError):
    """None of the given keys can open the package (or it needs a passphrase instead)."""


class PackagePassphraseError(PackageError):
    """The passphrase does not open the package (or it is encrypted to keys instead)."""


class DamagedPackageError(PackageError):
    """The encrypted file is not an age file, was altered, or ends early."""


class SignatureError(PackageError):
    """The manifest's signature is missing, wrong, or made by a key that is not the sender's."""


class ManifestError(PackageError):
    """The manifest is malformed or of an unknown version."""


class UnsafePackageError(PackageError):
    """The package's inside is malformed or dangerous (unsafe names, zip bomb, bad ZIP)."""


class PackageTooLargeError(UnsafePackageError):
    """The package would unpack to more than the limits allow."""


class PackageContentError(PackageError):
    """The files in the package do not match its signed manifest."""


class ExportError(PackageError):
    """A package cannot be written from the given inputs."""
