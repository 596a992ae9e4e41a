"""The ``README.txt`` every package (or plain archive) carries: what it is and how to open it
without Veil."""

from __future__ import annotations

from desktop.core.share.identity import KeyCard
from desktop.core.share.manifest import FORMAT_VERSION

_TEXT = """\
Veil share package (package format {version})
==============================================

Package id: {package_id}
Created:    {created}
Sender:     {sender} (key fingerprint {fingerprint})

Opening it with Veil
--------------------
File > Open (or double-click the .veil file). Veil decrypts it with your key, or asks
for the passphrase, checks the sender's signature and every file's SHA-256, and imports it.

Opening it without Veil
-----------------------
The .veil file is an age-encrypted file (https://age-encryption.org/v1). With the age tool:

  encrypted to your key:    age -d -i key.txt NAME.veil > NAME.zip
  protected by passphrase:  age -d NAME.veil > NAME.zip     (age asks for the passphrase)

then unzip it:               unzip NAME.zip -d NAME

The folder is a DICOM file-set (PS3.10): open NAME/DICOMDIR, or the folder, in any DICOM
viewer. The images are under DICOM/.

What is inside
--------------
  README.txt     this file
  manifest.json  purpose, consent basis, de-identification and redaction applied, and every
                 file with its size and SHA-256
  manifest.sig   the sender's Ed25519 signature over the exact bytes of manifest.json
  DICOMDIR       the DICOM directory of the images
  DICOM/         the images
  previews/      optional preview pictures
  case.html      the teaching case, when the package holds one: open it in a web browser

These images may be confidential health information: keep them only as long as the purpose
in manifest.json needs, and delete the decrypted copies afterwards.
"""

_ARCHIVE_TEXT = """\
Veil de-identified archive (package format {version}, not encrypted)
====================================================================

Archive id: {package_id}
Created:    {created}
Sender:     {sender} (key fingerprint {fingerprint})

This ZIP holds de-identified DICOM images, exported without encryption for the purpose in
manifest.json (for example publication). Unzip it: the folder is a DICOM file-set (PS3.10);
open DICOMDIR, or the folder, in any DICOM viewer. The images are under DICOM/.

Checking that nothing was changed
---------------------------------
manifest.json lists every file with its size and SHA-256 (sha256sum prints the same); the
sender's Ed25519 signature over the exact bytes of manifest.json is in manifest.sig, and the
sender's public signing key is in manifest.json ("sender"). Veil checks both on import.

What is inside
--------------
  README.txt     this file
  manifest.json  purpose, consent basis, de-identification and redaction applied, and every
                 file with its size and SHA-256
  manifest.sig   the sender's Ed25519 signature over manifest.json
  DICOMDIR       the DICOM directory of the images
  DICOM/         the images
  case.html      the teaching case, when the archive holds one: open it in a web browser

Use the images only for the purpose in manifest.json, and do not try to identify the patient.
"""


def readme_text(package_id: str, created: str, sender: KeyCard, archive: bool = False) -> bytes:
    """README.txt of a package, or of a plain ``archive`` (written before the manifest, which
    lists its hash)."""
    return (_ARCHIVE_TEXT if archive else _TEXT).format(version=FORMAT_VERSION, package_id=package_id, created=created,
                        sender=sender.name, fingerprint=sender.fingerprint).encode("utf-8")
