"""``veil keys`` and ``veil contacts`` as a script uses them: passphrase file, no keyring."""

from __future__ import annotations

import json

from desktop.core.keys.identity_store import IDENTITY_FILE


def test_two_homes_exchange_cards_and_verify(veil_cli, tmp_path):
    alice_home, bob_home = tmp_path / "home", tmp_path / "bob-home"

    def bob(*args: str):
        return veil_cli("--home", str(bob_home), *args)

    done = veil_cli("keys", "set", "--name", "Dr Alice Sender", "--institution", "General Hospital",
                    "--email", "alice@example.org")
    assert done.returncode == 0, done.stderr
    shown = veil_cli("keys", "show")
    assert shown.returncode == 0, shown.stderr
    fields = dict(line.split(":", 1) for line in shown.stdout.splitlines() if ":" in line and line[0] != " ")
    fingerprint = fields["Fingerprint"].strip()
    assert fields["Name"].strip() == "Dr Alice Sender" and fields["Age recipient"].strip().startswith("age1")
    assert " ".join(fingerprint.replace("-", "")) in fields["Read it out"].replace("  /  ", " ")
    assert "identity.sealed" in fields["Secret keys"]
    assert (alice_home / IDENTITY_FILE).exists()

    card = tmp_path / "alice.card"
    done = veil_cli("keys", "export-card", "-o", str(card))
    assert done.returncode == 0, done.stderr
    assert json.loads(card.read_text())["fingerprint"] == fingerprint

    done = bob("contacts", "add", str(card))
    assert done.returncode == 0, done.stderr
    assert "NOT verified" in done.stdout
    again = bob("contacts", "add", str(card))
    assert again.returncode == 1 and "already in your address book as 'Dr Alice Sender'" in again.stderr
    listing = bob("contacts", "list")
    assert "Dr Alice Sender (General Hospital) <alice@example.org>" in listing.stdout
    assert f"fingerprint {fingerprint}" in listing.stdout and "NOT verified" in listing.stdout

    done = bob("contacts", "verify", fingerprint[:9])
    assert done.returncode == 0, done.stderr
    assert f"fingerprint {fingerprint} as verified" in done.stdout
    listing = bob("contacts", "list")
    assert "NOT verified" not in listing.stdout and "(verified 20" in listing.stdout

    done = bob("contacts", "add", "--recipient", shown.stdout.split("Age recipient:")[1].split()[0],
               "--name", "Alice bare")
    assert done.returncode == 1 and "impostor" in done.stderr
    audit = bob("audit", "verify")
    assert audit.returncode == 0 and "OK" in audit.stdout


def test_a_bare_recipient_and_removal(veil_cli):
    recipient = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"
    done = veil_cli("contacts", "add", "--recipient", recipient)
    assert done.returncode == 1 and "needs a name" in done.stderr
    done = veil_cli("contacts", "add", "--recipient", recipient, "--name", "Carol", "--verified")
    assert done.returncode == 0, done.stderr
    listing = veil_cli("contacts", "list")
    assert "no signing key" in listing.stdout and recipient in listing.stdout and "(verified" in listing.stdout
    done = veil_cli("contacts", "remove", "carol")
    assert done.returncode == 0 and "Removed Carol" in done.stdout
    assert "No contacts" in veil_cli("contacts", "list").stdout
    done = veil_cli("contacts", "verify", "carol")
    assert done.returncode == 1 and "No contact" in done.stderr and "Traceback" not in done.stderr
